/**
 * Why an exchange failed, with a stable machine code. Failures become flows with an
 * `error` (its msg ends in the code) and, while the client is still there, a 502.
 */

/** Stable codes of exchange failures. */
export type FailureCode =
  | "E_UPSTREAM_REFUSED"
  | "E_UPSTREAM_DNS"
  | "E_UPSTREAM_UNREACHABLE"
  | "E_UPSTREAM_TLS"
  | "E_UPSTREAM_TIMEOUT"
  | "E_UPSTREAM_RESET"
  | "E_UPSTREAM_PROTOCOL"
  | "E_UPSTREAM_PROXY"
  | "E_CLIENT_GONE"
  | "E_KILLED"
  | "E_SHUTDOWN";

/** The message mitmproxy records on killed flows (kept verbatim: tools look for it). */
export const KILLED_MESSAGE = "Connection killed.";

const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_TLS_HANDSHAKE_TIMEOUT",
  "ERR_SSL_WRONG_VERSION_NUMBER",
]);

/** One failed exchange (or TCP/WebSocket relay). */
export class ProxyFailure extends Error {
  constructor(
    readonly code: FailureCode,
    message: string,
    /** the underlying error's code, e.g. ECONNREFUSED */
    readonly causeCode: string | null = null,
  ) {
    super(message);
    this.name = "ProxyFailure";
  }

  /** The text recorded as the flow's `error.msg`: the message, then the code. */
  get flowMessage(): string {
    return this.code === "E_KILLED" ? KILLED_MESSAGE : `${this.message} (${this.code})`;
  }

  /** A short text for the 502 body the client gets. */
  get clientText(): string {
    return `reflow: ${this.message}\n`;
  }

  /** A script (or the handler) killed the exchange. */
  static killed(): ProxyFailure {
    return new ProxyFailure("E_KILLED", KILLED_MESSAGE);
  }

  /** The client went away (`when`: e.g. "before the request was complete"). */
  static clientGone(when?: string): ProxyFailure {
    return new ProxyFailure("E_CLIENT_GONE", when ? `Client disconnected ${when}` : "Client disconnected");
  }

  /** `where` sent nothing for `timeoutMs`. */
  static noAnswer(where: string, timeoutMs: number): ProxyFailure {
    return new ProxyFailure("E_UPSTREAM_TIMEOUT", `${where} did not answer within ${timeoutMs / 1000} s`);
  }

  /** `where` closed the connection in the middle of a response. */
  static cutShort(where: string): ProxyFailure {
    return new ProxyFailure("E_UPSTREAM_RESET", `${where} closed the connection before the response was complete`);
  }

  /** `e` as it is when it is a ProxyFailure; any other error is a protocol failure. */
  static of(e: unknown): ProxyFailure {
    return e instanceof ProxyFailure ? e : new ProxyFailure("E_UPSTREAM_PROTOCOL", e instanceof Error ? e.message : String(e));
  }

  /** Classifies an error from a socket or Node's HTTP client talking to `target`. */
  static fromUpstream(e: unknown, target: string): ProxyFailure {
    if (e instanceof ProxyFailure) return e;
    const err = e as NodeJS.ErrnoException & { library?: string; reason?: string };
    const code = typeof err?.code === "string" ? err.code : null;
    const text = err instanceof Error ? err.message : String(e);
    if (code === "ECONNREFUSED") return new ProxyFailure("E_UPSTREAM_REFUSED", `Connection refused by ${target}`, code);
    if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_FAIL" || code === "EAI_NODATA")
      return new ProxyFailure("E_UPSTREAM_DNS", `Name not resolved: ${target}`, code);
    if (code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "EADDRNOTAVAIL")
      return new ProxyFailure("E_UPSTREAM_UNREACHABLE", `${target} unreachable (${code})`, code);
    if (code === "ETIMEDOUT") return new ProxyFailure("E_UPSTREAM_TIMEOUT", `${target} timed out`, code);
    if (code && (TLS_CODES.has(code) || code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_") || err.library === "SSL routines"))
      return new ProxyFailure("E_UPSTREAM_TLS", `TLS with ${target} failed: ${text}`, code);
    if (code && code.startsWith("HPE_"))
      return new ProxyFailure("E_UPSTREAM_PROTOCOL", `Invalid HTTP from ${target}: ${text}`, code);
    if (code === "ECONNRESET" || code === "EPIPE" || code === "ECONNABORTED")
      return new ProxyFailure("E_UPSTREAM_RESET", `${target} closed the connection: ${text}`, code);
    return new ProxyFailure("E_UPSTREAM_RESET", `${target}: ${text}`, code);
  }
}
