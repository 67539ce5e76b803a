/**
 * JSON Lines as bytes (docs/jsonl.md): the line `flowToJsonLine` makes, written field by
 * field straight into one reused buffer. Header fields and bodies go from their stored bytes
 * to the line without becoming strings; the rare parts (WebSocket, TCP and DNS messages,
 * metadata) are stringified from the objects flowToJson makes of them.
 */
import { isUtf8 } from "node:buffer";
import { RawElement, type TValue, storedEntry, visitBytePairs } from "../../format/tnetstring.js";
import type { Flow, HTTPFlow, Headers, Message, Request, Response, TCPFlow, UDPFlow, DNSFlow } from "../../model/index.js";
import { decodeUtf8Escaped } from "../../model/surrogate-escape.js";
import { asBuffer } from "../../model/bytes.js";
import { unparseUrl } from "../../model/url.js";
import { JsonTextBytes } from "./json-text-bytes.js";
import { StoredConnectionsWriter } from "./jsonl-stored-connections.js";
import { modelConnectionLine, writeConnectionLine } from "./jsonl-connection.js";
import { dnsJson, metadataJson, shownBody, streamMessagesJson, websocketJson } from "./jsonl-writer.js";

/** Writes each flow's JSON line into a buffer of its own, reused from line to line. */
export class JsonLineEncoder {
  private readonly out = new JsonTextBytes();
  /** the two connections, written first (where flowToJson reads them) and copied into the line */
  private readonly clientConn = new JsonTextBytes(4096);
  private readonly serverConn = new JsonTextBytes(4096);
  private readonly storedConnections = new StoredConnectionsWriter();

  /** The line of `flow`, newline included: a view valid until the next call. */
  encode(flow: Flow): Buffer {
    const out = this.out;
    out.reset();
    // read in flowToJson's order, so that damage is found (and named) the same way
    const error = flow.error;
    if (!this.storedConnections.write(flow, this.clientConn, this.serverConn)) {
      const { client, server } = flow.readConnections();
      writeConnectionLine(this.clientConn, modelConnectionLine(client, null));
      writeConnectionLine(this.serverConn, modelConnectionLine(null, server));
    }
    out.ascii('{"id":');
    out.string(flow.id);
    out.ascii(',"type":');
    out.string(flow.type);
    out.ascii(',"timestamp_created":');
    out.number(flow.timestampCreated);
    out.ascii(',"client_conn":');
    out.raw(this.clientConn.bytes());
    out.ascii(',"server_conn":');
    out.raw(this.serverConn.bytes());
    this.typeFields(flow);
    out.ascii(',"error":');
    if (error) {
      out.ascii('{"msg":');
      out.string(error.msg);
      out.ascii(',"timestamp":');
      out.number(error.timestamp);
      out.ascii("}");
    } else out.ascii("null");
    out.ascii(',"marked":');
    out.string(flow.marked);
    out.ascii(',"comment":');
    out.string(flow.comment);
    out.ascii(',"is_replay":');
    out.nullableString(flow.isReplay);
    out.ascii(',"metadata":');
    if (isEmptyStoredDict(storedEntry(flow.state.top(), "metadata"))) out.ascii("{}"); // nearly every flow: no Map made
    else {
      const metadata = flow.metadata;
      if (metadata.size === 0) out.ascii("{}");
      else out.json(JSON.stringify(metadataJson(metadata)));
    }
    out.ascii("}\n");
    return out.bytes();
  }

  private typeFields(flow: Flow): void {
    const out = this.out;
    switch (flow.type) {
      case "http": {
        const f = flow as HTTPFlow;
        const ws = f.websocket;
        out.ascii(',"request":');
        this.request(f.request);
        out.ascii(',"response":');
        const response = f.response;
        if (response) this.response(response);
        else out.ascii("null");
        if (ws) {
          out.ascii(',"websocket":');
          out.json(JSON.stringify(websocketJson(ws)));
        }
        return;
      }
      case "tcp":
      case "udp":
        out.ascii(',"messages":');
        out.json(JSON.stringify(streamMessagesJson(flow as TCPFlow | UDPFlow)));
        return;
      case "dns": {
        const f = flow as DNSFlow;
        const response = f.response;
        out.ascii(',"dns_request":');
        out.json(JSON.stringify(dnsJson(f.request)));
        out.ascii(',"dns_response":');
        out.json(response ? JSON.stringify(dnsJson(response)) : "null");
        return;
      }
    }
  }

  private request(r: Request): void {
    const out = this.out;
    // Each part read once (the url is made of them, as Request.url makes it), in the order
    // flowToJson first reads them through `url`, so that damage is met in the same place.
    const method = r.method;
    let scheme: string, host: string, port: number, path: string, url: string, authority: string;
    if (method === "CONNECT") {
      host = r.host;
      port = r.port;
      url = `${host}:${port}`;
      scheme = r.scheme;
      path = r.path;
      authority = r.authority;
    } else {
      authority = r.authority; // whether there is one: url's choice of form
      path = r.path;
      scheme = r.scheme;
      host = r.host;
      port = r.port;
      url = unparseUrl(scheme, host, port, path === "*" ? "" : path);
    }
    out.ascii('{"method":');
    out.string(method);
    out.ascii(',"url":');
    out.string(url);
    out.ascii(',"scheme":');
    out.string(scheme);
    out.ascii(',"host":');
    out.string(host);
    out.ascii(',"port":');
    out.number(port);
    out.ascii(',"path":');
    out.string(path);
    out.ascii(',"authority":');
    out.string(authority);
    this.message(r);
  }

  private response(r: Response): void {
    const out = this.out;
    out.ascii('{"status_code":');
    out.number(r.statusCode);
    out.ascii(',"reason":');
    out.string(r.reason);
    this.message(r);
  }

  /** The fields requests and responses share, and the closing brace. */
  private message(m: Message): void {
    const out = this.out;
    out.ascii(',"http_version":');
    out.string(m.httpVersion);
    out.ascii(',"headers":');
    this.headers(m);
    const { raw, content, decoded } = shownBody(m);
    out.ascii(',"body":');
    if (content === null) out.ascii('null,"body_encoding":null');
    else {
      const bytes = asBuffer(content);
      if (isUtf8(bytes)) {
        out.utf8String(bytes);
        out.ascii(',"body_encoding":"utf8"');
      } else {
        out.base64String(bytes);
        out.ascii(',"body_encoding":"base64"');
      }
    }
    out.ascii(',"body_size":');
    out.number(content?.length ?? 0);
    out.ascii(',"stored_size":');
    out.number(raw?.length ?? 0);
    out.ascii(decoded ? ',"body_decoded":true' : ',"body_decoded":false');
    out.ascii(',"trailers":');
    const trailers = m.trailers;
    if (trailers === null) out.ascii("null");
    else this.headerPairs(trailers);
    out.ascii(',"timestamp_start":');
    out.number(m.timestampStart);
    out.ascii(',"timestamp_end":');
    out.nullableNumber(m.timestampEnd);
    out.ascii("}");
  }

  /** The header fields of `m`, read from their stored bytes while they are plain pairs of bytes. */
  private headers(m: Message): void {
    const out = this.out;
    const stored = storedEntry(m.state, "headers");
    if (stored instanceof RawElement) {
      const mark = out.at;
      let first = true;
      out.ascii("[");
      const plain = visitBytePairs(stored, (buf, nameStart, nameEnd, valueStart, valueEnd) => {
        out.ascii(first ? "[" : ",[");
        first = false;
        this.headerText(buf, nameStart, nameEnd);
        out.ascii(",");
        this.headerText(buf, valueStart, valueEnd);
        out.ascii("]");
      });
      if (plain) {
        out.ascii("]");
        return;
      }
      out.at = mark; // not plain pairs: the model reads them (and names what is wrong)
    }
    this.headerPairs(m.headers);
  }

  /** Header bytes as the JSON string of their text (UTF-8, invalid bytes as lone surrogates). */
  private headerText(buf: Buffer, start: number, end: number): void {
    if (!this.out.utf8StringIfValid(buf, start, end)) this.out.string(decodeUtf8Escaped(buf.subarray(start, end)));
  }

  private headerPairs(headers: Headers): void {
    const out = this.out;
    out.ascii("[");
    let first = true;
    for (const [name, value] of headers) {
      out.ascii(first ? "[" : ",[");
      first = false;
      out.string(name);
      out.ascii(",");
      out.string(value);
      out.ascii("]");
    }
    out.ascii("]");
  }
}

/** True for a dict stored as `0:}` and not read yet. */
function isEmptyStoredDict(v: TValue | undefined): boolean {
  if (!(v instanceof RawElement) || v.end - v.start !== 3) return false;
  const b = v.source;
  return b[v.start] === 0x30 && b[v.start + 1] === 0x3a && b[v.start + 2] === 0x7d;
}
