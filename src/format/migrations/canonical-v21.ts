/**
 * The last upgrade pass: rebuilds a flow that has reached version 21 with exactly the v21
 * key set in mitmproxy's v21 insertion order, and with the value types mitmproxy's model
 * gives them on load (e.g. `request.host` bytes → str). Unknown keys are left out, because
 * mitmproxy refuses extra top-level and connection keys; `metadata` is kept as it is.
 * The input is never changed; values that need no change are shared with it.
 */
import { domainToUnicode } from "node:url";
import { FlowStateError } from "../../errors.js";
import { RawElement, resolve, type TDict, type TValue } from "../tnetstring.js";
import {
  CLIENT_V21,
  DNS_MESSAGE_V21,
  DNS_QUESTION,
  DNS_RESOURCE_RECORD,
  ERROR,
  FLOW_TYPE_KEYS,
  REQUEST,
  RESPONSE,
  SERVER_V21,
  TOP_V21,
  WEBSOCKET,
} from "./key-orders.js";
import { alwaysStr, describe, dictOrNull, isDict, need, needDict, needList, ordered, schemaError } from "./values.js";

/** Rebuilds a version-21 flow; `migrateBackup` brings a nested `backup` dict to the same form. */
export function canonicalV21(flow: TDict, migrateBackup: (backup: TDict) => TDict): TDict {
  const type = need(flow, "type", "flow");
  const typeKeys = typeof type === "string" ? FLOW_TYPE_KEYS[type] : undefined;
  if (!typeKeys) throw new FlowStateError("E_FLOW_SCHEMA", `Unknown flow type: ${String(type)}`);

  const out: TDict = new Map();
  for (const key of TOP_V21) {
    switch (key) {
      case "version":
        out.set(key, 21);
        break;
      case "id":
        out.set(key, alwaysStr(need(flow, key, "flow"), "flow.id"));
        break;
      case "error":
        out.set(key, errorOf(dictOrNull(flow, key, "flow")));
        break;
      case "client_conn":
        out.set(key, ordered(needDict(flow, key, "flow"), CLIENT_V21, "client_conn"));
        break;
      case "server_conn":
        out.set(key, ordered(needDict(flow, key, "flow"), SERVER_V21, "server_conn"));
        break;
      case "metadata":
        out.set(key, unparsedDict(flow, key));
        break;
      case "backup": {
        // readers treat it as optional (v17 writes it only when there is one); v21 always has it
        const backup = dictOrNull(flow, key, "flow", true);
        out.set(key, backup ? migrateBackup(backup) : null);
        break;
      }
      default:
        out.set(key, need(flow, key, "flow"));
    }
  }

  if (type === "http") {
    out.set("request", requestOf(needDict(flow, "request", "flow")));
    const response = dictOrNull(flow, "response", "flow");
    out.set("response", response && responseOf(response));
    const websocket = dictOrNull(flow, "websocket", "flow");
    out.set("websocket", websocket && websocketOf(websocket));
  } else if (type === "dns") {
    out.set("request", dnsMessageOf(needDict(flow, "request", "flow"), "request"));
    const response = dictOrNull(flow, "response", "flow");
    out.set("response", response && dnsMessageOf(response, "response"));
  } else {
    out.set("messages", unparsedList(flow, "messages"));
  }
  return out;
}

/** A dict we only pass on: a RawElement stays unparsed. */
function unparsedDict(flow: TDict, key: string): TValue {
  const v = flow.get(key);
  if (v instanceof RawElement || isDict(v)) return v;
  throw schemaError(`flow.${key}: expected a dict, got ${describe(v)}`);
}

function unparsedList(flow: TDict, key: string): TValue {
  const v = flow.get(key);
  if (v instanceof RawElement || Array.isArray(v)) return v;
  throw schemaError(`flow.${key}: expected a list, got ${describe(v)}`);
}

function errorOf(error: TDict | null): TDict | null {
  if (!error) return null;
  const out = ordered(error, ERROR, "error");
  out.set("msg", alwaysStr(need(out, "msg", "error"), "error.msg"));
  return out;
}

/** Request() accepts str for these and encodes them; old files have them as bytes anyway. */
const REQUEST_BYTES_FIELDS = ["http_version", "method", "scheme", "authority", "path"];
const RESPONSE_BYTES_FIELDS = ["http_version", "reason"];

function requestOf(request: TDict): TDict {
  const out = ordered(request, REQUEST, "request");
  for (const k of REQUEST_BYTES_FIELDS) strToBytes(out, k);
  const host = out.get("host");
  if (host instanceof Uint8Array) out.set("host", idnaHost(host));
  return out;
}

function responseOf(response: TDict): TDict {
  const out = ordered(response, RESPONSE, "response");
  for (const k of RESPONSE_BYTES_FIELDS) strToBytes(out, k);
  return out;
}

function strToBytes(dict: TDict, key: string): void {
  const v = dict.get(key);
  if (typeof v === "string") dict.set(key, Buffer.from(v, "utf8"));
}

/**
 * Python's `bytes.decode("idna")`: ASCII labels stay as they are (case kept), `xn--` labels
 * are Punycode-decoded. mitmproxy fails on non-ASCII bytes; valid UTF-8 is let through here.
 */
function idnaHost(host: Uint8Array): string {
  const text = Buffer.from(host).toString("latin1");
  if (!/^[\x00-\x7f]*$/.test(text)) {
    const utf8 = Buffer.from(host).toString("utf8");
    if (Buffer.byteLength(utf8) !== host.length || utf8.includes("\ufffd"))
      throw schemaError("request.host: bytes are neither ASCII nor UTF-8");
    return utf8;
  }
  return text
    .split(".")
    .map((label) => {
      if (!/^xn--/i.test(label)) return label;
      const decoded = domainToUnicode(label);
      if (!decoded) throw schemaError(`request.host: invalid IDNA label ${JSON.stringify(label)}`);
      return decoded;
    })
    .join(".");
}

/** Message entries are `[type, from_client, content, timestamp, dropped, injected]`. */
function websocketOf(websocket: TDict): TDict {
  const out = ordered(websocket, WEBSOCKET, "websocket");
  const messages = needList(out, "messages", "websocket");
  out.set(
    "messages",
    messages.map((m) => {
      if (!Array.isArray(m)) throw schemaError(`websocket.messages: expected a list per message, got ${describe(m)}`);
      // pre-v12 text messages were stored as str; readers also accept entries without `injected`
      if (typeof m[2] !== "string" && m.length !== 5) return m;
      const entry = [...m];
      if (typeof entry[2] === "string") entry[2] = Buffer.from(entry[2], "utf8");
      if (entry.length === 5) entry.push(false);
      return entry;
    }),
  );
  return out;
}

function dnsMessageOf(message: TDict, where: string): TDict {
  const out = ordered(message, DNS_MESSAGE_V21, where);
  out.set("questions", dictsOf(needList(out, "questions", where), DNS_QUESTION, `${where}.questions`));
  for (const section of ["answers", "authorities", "additionals"])
    out.set(section, dictsOf(needList(out, section, where), DNS_RESOURCE_RECORD, `${where}.${section}`));
  return out;
}

function dictsOf(list: TValue[], keys: readonly string[], where: string): TDict[] {
  return list.map((x) => {
    const d = resolve(x);
    if (!isDict(d)) throw schemaError(`${where}: expected a dict, got ${describe(d)}`);
    return ordered(d, keys, where);
  });
}
