/**
 * The shape a JSON Lines flow must have to be read back (docs/jsonl.md): each field's JSON
 * type, checked before a flow is built from it. A line edited by hand or with jq into
 * another shape (`.request.port = "80"`, headers as an object) is then refused as one line
 * naming the field, instead of failing somewhere inside the reader or, worse, becoming a
 * flow that neither reflow nor mitmproxy can read.
 */
import { FlowStateError } from "../../errors.js";

/** A JSON type; `{ list }` a list of one shape, `{ fields }` an object whose other keys are ignored. */
type Shape =
  | "string"
  | "number"
  | "integer"
  | "boolean"
  | "json"
  | "pairs"
  | { list: Shape }
  | { fields: { [key: string]: Shape | Optional } };

/** A field that may be missing or null (the reader has a default for it). */
interface Optional {
  optional: Shape;
}

const optional = (shape: Shape): Optional => ({ optional: shape });
const strings: Shape = { list: "string" };

const CONNECTION: Shape = {
  fields: {
    address: optional("string"),
    peer: optional("string"),
    tls: optional("boolean"),
    tls_version: optional("string"),
    sni: optional("string"),
    alpn: optional("string"),
    timestamp_start: optional("number"),
    timestamp_end: optional("number"),
    id: optional("string"),
    sockname: optional("string"),
    transport_protocol: optional("string"),
    error: optional("string"),
    cipher: optional("string"),
    cipher_list: optional(strings),
    alpn_offers: optional(strings),
    certificate_list: optional(strings),
    timestamp_tls_setup: optional("number"),
    timestamp_tcp_setup: optional("number"),
    proxy_mode: optional("string"),
  },
};

const HTTP_MESSAGE = {
  http_version: optional("string"),
  headers: optional("pairs"),
  trailers: optional("pairs"),
  body: optional("string"),
  body_encoding: optional("string"),
  body_decoded: optional("boolean"),
  timestamp_start: optional("number"),
  timestamp_end: optional("number"),
};

const STREAM_MESSAGE = {
  from_client: "boolean",
  content: "string",
  content_encoding: optional("string"),
  timestamp: optional("number"),
} as const;

const DNS_RECORD: Shape = { fields: { name: "string", type: "string", class: "integer", ttl: "integer", data: "string" } };
const DNS_RECORDS: Shape = { list: DNS_RECORD };

const DNS_MESSAGE: Shape = {
  fields: {
    id: "integer",
    query: "boolean",
    op_code: "integer",
    response_code: "integer",
    authoritative_answer: "boolean",
    truncation: "boolean",
    recursion_desired: "boolean",
    recursion_available: "boolean",
    questions: { list: { fields: { name: "string", type: "string", class: "integer" } } },
    answers: DNS_RECORDS,
    authorities: DNS_RECORDS,
    additionals: DNS_RECORDS,
    timestamp: optional("number"),
  },
};

const COMMON = {
  id: optional("string"),
  type: "string",
  timestamp_created: optional("number"),
  client_conn: optional(CONNECTION),
  server_conn: optional(CONNECTION),
  error: optional({ fields: { msg: "string", timestamp: optional("number") } }),
  marked: optional("string"),
  comment: optional("string"),
  is_replay: optional("string"),
  metadata: optional("json"),
} as const;

const STREAM_FLOW: Shape = { fields: { ...COMMON, messages: { list: { fields: STREAM_MESSAGE } } } };

/** Each flow type's shape. */
const FLOW_SHAPES: { [type: string]: Shape } = {
  http: {
    fields: {
      ...COMMON,
      request: {
        fields: {
          ...HTTP_MESSAGE,
          method: "string",
          scheme: "string",
          host: "string",
          port: "integer",
          path: "string",
          authority: optional("string"),
        },
      },
      response: optional({ fields: { ...HTTP_MESSAGE, status_code: "integer", reason: "string" } }),
      websocket: optional({
        fields: {
          messages: { list: { fields: { ...STREAM_MESSAGE, type: optional("string"), dropped: optional("boolean"), injected: optional("boolean") } } },
          close_code: optional("integer"),
          close_reason: optional("string"),
          closed_by_client: optional("boolean"),
          timestamp_end: optional("number"),
        },
      }),
    },
  },
  tcp: STREAM_FLOW,
  udp: STREAM_FLOW,
  dns: { fields: { ...COMMON, dns_request: DNS_MESSAGE, dns_response: optional(DNS_MESSAGE) } },
};

/** What a value is, in words for a message. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a number";
  return `${typeof value === "object" ? "an" : "a"} ${typeof value}`;
}

const EXPECTED: { [shape: string]: string } = {
  string: "a string",
  number: "a number",
  integer: "an integer",
  boolean: "true or false",
  pairs: "a list of [name, value] strings",
};

/** The path of the field being checked, as keys and indexes: made text only for a refusal. */
type FieldPath = (string | number)[];

function pathText(path: FieldPath): string {
  let text = "";
  for (const part of path) text += typeof part === "number" ? `[${part}]` : text ? `.${part}` : part;
  return text;
}

function refuse(path: FieldPath, expected: string, value: unknown): never {
  throw new FlowStateError("E_FLOW_SCHEMA", `${pathText(path)}: expected ${expected}, found ${kindOf(value)}`);
}

/** An object shape's fields as a list, made once: checked for every line. */
const fieldLists = new WeakMap<object, [string, Shape | Optional][]>();

function check(value: unknown, shape: Shape, path: FieldPath): void {
  switch (shape) {
    case "json":
      return;
    case "string":
    case "boolean":
      if (typeof value !== shape) refuse(path, EXPECTED[shape]!, value);
      return;
    case "number":
      if (typeof value !== "number") refuse(path, EXPECTED.number!, value);
      return;
    case "integer":
      if (!Number.isSafeInteger(value)) refuse(path, EXPECTED.integer!, value);
      return;
    case "pairs":
      if (!Array.isArray(value)) refuse(path, EXPECTED.pairs!, value);
      for (let i = 0; i < value.length; i++) {
        const pair: unknown = value[i];
        if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string")
          refuse([...path, i], "a [name, value] pair of strings", pair);
      }
      return;
  }
  if ("list" in shape) {
    if (!Array.isArray(value)) refuse(path, "a list", value);
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      check(value[i], shape.list, path);
      path.pop();
    }
    return;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) refuse(path, "an object", value);
  const object = value as { [key: string]: unknown };
  let fields = fieldLists.get(shape);
  if (!fields) fieldLists.set(shape, (fields = Object.entries(shape.fields)));
  for (const [key, field] of fields) {
    const v = object[key];
    path.push(key);
    if (typeof field === "object" && "optional" in field) {
      if (v !== null && v !== undefined) check(v, field.optional, path);
    } else if (v === undefined) throw new FlowStateError("E_FLOW_SCHEMA", `${pathText(path)}: missing`);
    else check(v, field, path);
    path.pop();
  }
}

/** Refuses a parsed JSON Lines flow of type `type` whose fields are not of the types the reader takes. */
export function checkFlowShape(flow: object, type: string): void {
  const shape = FLOW_SHAPES[type];
  if (shape) check(flow, shape, []);
}
