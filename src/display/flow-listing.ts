/**
 * Flows as mitmdump's `--flow-detail` shows them: 1 one line per request and response (or
 * error), TCP/UDP/WebSocket messages as arrow lines; 2 adds headers and trailers; 3 adds
 * bodies and message contents through the content views, cut at CUT_OFF_LINES lines per
 * body; 4 cuts nothing.
 */
import type { DNSFlow, Flow, HTTPFlow, Message, TCPFlow, UDPFlow, WebSocketMessage } from "../model/index.js";
import { ContentTooLargeError, reasonPhrase } from "../model/index.js";
import { dnsTypeName, recordDataText } from "../model/dns-text.js";
import { viewContent } from "./content-view.js";
import { TerminalLines, escapeControl, formatAddress, listingMark, prettySize } from "./human.js";
import { Painter, type StyleName } from "./style.js";

/** How much of each flow is shown: 0 nothing … 4 everything. */
export type DetailLevel = 0 | 1 | 2 | 3 | 4;

/** Lines of one body shown at detail 3 (mitmdump 8.1.1 cuts at 70 too). */
export const CUT_OFF_LINES = 70;

/** Characters of one body line shown at detail 3. */
export const CUT_OFF_COLUMNS = 1024;

/** How the listing looks. */
export interface ListingOptions {
  detail: DetailLevel;
  /** ANSI colours (only for a terminal) */
  colour?: boolean;
  /** terminal width: URLs are shortened to fit at detail 1; null never shortens */
  width?: number | null;
}

const INDENT = "    ";

/**
 * A body is decoded for the listing only up to this many bytes: a hostile server's few
 * kilobytes of gzip that decode to gigabytes would otherwise exhaust memory, in `show` and
 * in the live log of `capture --detail 3`.
 */
export const DISPLAY_DECODE_LIMIT = 64 << 20;

/** WebSocket close codes by name (RFC 6455 §7.4.1, as wsproto names them). */
const CLOSE_REASONS: Record<number, string> = {
  1000: "NORMAL_CLOSURE",
  1001: "GOING_AWAY",
  1002: "PROTOCOL_ERROR",
  1003: "UNSUPPORTED_DATA",
  1005: "NO_STATUS_RCVD",
  1006: "ABNORMAL_CLOSURE",
  1007: "INVALID_FRAME_PAYLOAD_DATA",
  1008: "POLICY_VIOLATION",
  1009: "MESSAGE_TOO_BIG",
  1010: "MANDATORY_EXT",
  1011: "INTERNAL_ERROR",
  1012: "SERVICE_RESTART",
  1013: "TRY_AGAIN_LATER",
  1015: "TLS_HANDSHAKE_FAILED",
};

const DNS_OPCODES: Record<number, string> = {
  0: "QUERY",
  1: "IQUERY",
  2: "STATUS",
  4: "NOTIFY",
  5: "UPDATE",
  6: "DSO",
};

/** Renders flows as listing lines. */
export class FlowListing {
  private readonly paint: Painter;
  private readonly terminal: TerminalLines;

  constructor(private readonly options: ListingOptions) {
    const mark = listingMark();
    this.paint = new Painter(options.colour ?? false, mark);
    this.terminal = new TerminalLines(mark);
  }

  /**
   * The lines for one flow (none at detail 0), safe for a terminal: whatever the flow holds,
   * no control character, escape sequence or bidi override of it is left raw.
   */
  render(flow: Flow): string[] {
    const out = this.unsafeLines(flow);
    for (let i = 0; i < out.length; i++) out[i] = this.terminal.safe(out[i]!);
    return out;
  }

  private unsafeLines(flow: Flow): string[] {
    if (this.options.detail === 0) return [];
    const out: string[] = [];
    switch (flow.type) {
      case "http":
        this.http(flow as HTTPFlow, out);
        break;
      case "tcp":
      case "udp":
        this.messages(flow as TCPFlow | UDPFlow, out);
        break;
      case "dns":
        this.dns(flow as DNSFlow, out);
        break;
    }
    return out;
  }

  private style(text: string, ...styles: (StyleName | undefined)[]): string {
    return this.paint.paint(text, ...styles);
  }

  private client(flow: Flow): string {
    if (flow.isReplay === "request") return this.style("[replay]", "yellow", "bold");
    const peer = flow.clientPeername;
    return peer ? escapeControl(formatAddress(peer)) : "";
  }

  private http(flow: HTTPFlow, out: string[]): void {
    const { detail } = this.options;
    const request = flow.request;
    const response = flow.response;
    out.push(this.requestLine(flow));
    if (detail >= 2) this.headers(request.headers, out);
    if (detail >= 3) this.body(request, out);
    if (detail >= 2) this.trailers(request.trailers, out);
    if (response) {
      out.push(this.responseLine(flow));
      if (detail >= 2) this.headers(response.headers, out);
      if (detail >= 3) this.body(response, out);
      if (detail >= 2) this.trailers(response.trailers, out);
    }
    const error = flow.error;
    if (error) out.push(this.style(` << ${escapeControl(error.msg)}`, "red", "bold"));
    const ws = flow.websocket;
    if (!ws) return;
    const where = `${formatAddress(flow.serverAddress)}${request.path}`;
    for (const message of ws.messages) {
      const dir = message.fromClient ? "->" : "<-";
      const kind = message.isText ? "text" : "binary";
      out.push(
        `${formatAddress(flow.clientPeername)} ${dir} WebSocket ${kind} message ${dir} ${escapeControl(where)}`,
      );
      if (detail >= 3) this.messageContent(message, out);
    }
    const code = ws.closeCode;
    if (code === 1000 || code === 1001 || code === 1005) {
      const by = ws.closedByClient ? "client" : "server";
      out.push(`WebSocket connection closed by ${by}: ${code} ${escapeControl(ws.closeReason ?? "")}`.trimEnd());
    } else if (code !== null) {
      let why = CLOSE_REASONS[code] ?? `UNKNOWN_ERROR=${code}`;
      if (ws.closeReason) why += ` (reason: ${escapeControl(ws.closeReason)})`;
      out.push(
        this.style(
          `Error in WebSocket connection to ${formatAddress(flow.serverAddress)}: WebSocket Error: ${why}`,
          "red",
        ),
      );
    }
  }

  private requestLine(flow: HTTPFlow): string {
    const request = flow.request;
    const method = request.method;
    const methodColour: StyleName = method === "GET" ? "green" : method === "DELETE" ? "red" : "magenta";
    let url = request.url;
    const width = this.options.width;
    if (this.options.detail === 1 && width) {
      const limit = Math.max(width - 25, 50);
      if (url.length > limit) url = `${url.slice(0, limit)}…`;
    }
    const version = request.httpVersion;
    const h1 = version === "HTTP/1.0" || version === "HTTP/1.1";
    const shownVersion = !h1 || version !== (flow.response?.httpVersion ?? "HTTP/1.1") ? ` ${version}` : "";
    const client = this.client(flow);
    return `${client}: ${this.style(escapeControl(method), methodColour, "bold")} ${this.style(escapeControl(url), "bold")}${shownVersion}`;
  }

  private responseLine(flow: HTTPFlow): string {
    const response = flow.response!;
    const replay = flow.isReplay === "response" ? "[replay]" : "";
    const code = response.statusCode;
    const colour: StyleName | undefined =
      code >= 200 && code < 300
        ? "green"
        : code >= 300 && code < 400
          ? "magenta"
          : code >= 400 && code < 600
            ? "red"
            : undefined;
    // HTTP/2 and 3 send no reason phrase: show the standard one
    const reason = response.isHttp2 || response.isHttp3 ? reasonPhrase(code) : response.reason;
    const raw = response.rawContent;
    const size = raw === null ? "(content missing)" : prettySize(raw.length);
    const h1 = response.isHttp10 || response.isHttp11;
    const version = !h1 || flow.request.httpVersion !== response.httpVersion ? `${response.httpVersion} ` : "";
    let arrows = this.style(" <<", "bold");
    if (this.options.detail === 1) {
      // lines the status code up under the method: "127.0.0.1:59519: GET …" / "              << 200 …"
      const pad = Math.max(0, formatAddress(flow.clientPeername).length - (2 + version.length + replay.length));
      arrows = " ".repeat(pad) + arrows;
    }
    const shownReplay = replay ? this.style(replay, "yellow", "bold") : "";
    return `${shownReplay}${arrows} ${version}${this.style(String(code), colour, "bold")} ${this.style(escapeControl(reason), colour, "bold")} ${this.style(size, "bold")}`;
  }

  private headers(headers: Iterable<[string, string]>, out: string[]): void {
    for (const [name, value] of headers)
      out.push(`${INDENT}${this.style(escapeControl(name), "blue")}: ${escapeControl(value)}`.trimEnd());
  }

  private trailers(trailers: Iterable<[string, string]> | null, out: string[]): void {
    if (!trailers) return;
    const list = [...trailers];
    if (list.length === 0) return;
    out.push(this.style(`${INDENT}--- HTTP Trailers`, "magenta"));
    this.headers(list, out);
  }

  private body(message: Message, out: string[]): void {
    const raw = message.rawContent;
    if (raw === null) {
      out.push("", `${INDENT}${this.style("(content missing)", "dim")}`, "");
      return;
    }
    let content: Buffer = raw;
    let contentType = message.headers.get("content-type") ?? null;
    let note: string | undefined;
    try {
      // a body that decodes past the limit (a decompression bomb) is shown as stored, never decoded whole
      content = message.getContent(true, true, DISPLAY_DECODE_LIMIT) ?? raw;
    } catch (e) {
      if (e instanceof ContentTooLargeError) {
        note = `(${e.encoding} content that decodes to more than ${DISPLAY_DECODE_LIMIT >> 20} MiB; shown as stored)`;
        contentType = "application/octet-stream"; // compressed bytes, whatever the text they stand for
      } else note = `(${e instanceof Error ? e.message : String(e)}; shown as stored)`;
    }
    if (note) out.push("", `${INDENT}${this.style(note, "dim")}`);
    this.content(content, contentType, out);
  }

  private messageContent(message: WebSocketMessage, out: string[]): void {
    this.content(message.content, message.isText ? "text/plain; charset=utf-8" : null, out);
  }

  /** A body or message through its content view: a blank line, the indented lines, a cut note, a blank line. */
  private content(content: Buffer, contentType: string | null, out: string[]): void {
    const cut = this.options.detail === 3;
    const view = viewContent(content, contentType, cut ? CUT_OFF_LINES : Infinity);
    if (view.lines.length > 0) {
      out.push("");
      for (const line of view.lines) {
        const shown = cut && line.length > CUT_OFF_COLUMNS ? `${line.slice(0, CUT_OFF_COLUMNS)}…` : line;
        out.push(`${INDENT}${shown}`.trimEnd());
      }
    }
    if (view.totalLines > view.lines.length) {
      const more = view.totalLines - view.lines.length;
      out.push(
        this.style(`${INDENT}(cut off: ${more} more line${more === 1 ? "" : "s"}; --detail 4 shows all)`, "dim"),
      );
    }
    out.push("");
  }

  private messages(flow: TCPFlow | UDPFlow, out: string[]): void {
    const client = formatAddress(flow.clientPeername);
    const server = formatAddress(flow.serverAddress);
    for (const message of flow.messages) {
      const dir = message.fromClient ? "->" : "<-";
      out.push(`${client} ${dir} ${flow.type} ${dir} ${server}`);
      if (this.options.detail >= 3) this.content(message.content, null, out);
    }
    const error = flow.error;
    if (error)
      out.push(
        this.style(`Error in ${flow.type.toUpperCase()} connection to ${server}: ${escapeControl(error.msg)}`, "red"),
      );
  }

  private dns(flow: DNSFlow, out: string[]): void {
    const request = flow.request;
    const question = request.questions[0];
    const opcode = DNS_OPCODES[request.opCode] ?? `OPCODE${request.opCode}`;
    const type = question ? dnsTypeName(question.type) : "-";
    const desc = `DNS ${opcode} (${type})`;
    const colour: StyleName = type === "A" ? "green" : type === "AAAA" ? "magenta" : "red";
    out.push(
      `${this.client(flow)}: ${this.style(desc, colour)} ${this.style(escapeControl(question?.name ?? ""), "bold")}`,
    );
    const response = flow.response;
    if (response) {
      const answers = response.answers.map((rr) => this.style(escapeControl(recordDataText(rr)), "cyan")).join(", ");
      out.push(`${this.style(" <<", "bold")} ${answers}`.trimEnd());
    }
    const error = flow.error;
    if (error) out.push(this.style(` << ${escapeControl(error.msg)}`, "red", "bold"));
  }
}
