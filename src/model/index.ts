/**
 * The flow object model: the objects scripts and the pipeline read and change, each a live
 * view over a flow's state (spec §3 "Flow API").
 */
export { CharsetError, decodeText, encodeText, encodesAsUtf8, inferCharset } from "./charset.js";
export { Client, Connection, Server, type Address } from "./connection.js";
export { type ContentType, formatContentType, parseContentType } from "./content-type.js";
export {
  CookieAttrs,
  type SetCookie,
  formatCookieHeader,
  formatSetCookieHeader,
  parseCookieHeader,
  parseCookieHeaders,
  parseSetCookieHeader,
  parseSetCookieHeaders,
} from "./cookies.js";
export { decoded } from "./decoded.js";
export { DetachedState } from "../format/detached-state.js";
export { DNSMessage, type DNSQuestion, type DNSResourceRecord } from "./dns.js";
export { DNSFlow } from "./dns-flow.js";
export { ContentEncodingError, ContentTooLargeError, decodeContent, encodeContent, isKnownContentEncoding } from "./encoding.js";
export { Flow, type FlowType, type ReplayKind } from "./flow.js";
export { FlowError, type FlowErrorInit } from "./flow-error.js";
export { flowFromState } from "./flow-factory.js";
export { type HeaderField, Headers, type HeadersInit } from "./headers.js";
export { HTTPFlow } from "./http-flow.js";
export { type Body, Message } from "./message.js";
export { MultiDict, MultiDictBase, type MultiDictField, MultiDictView } from "./multidict.js";
export { type PairsInit, Request } from "./request.js";
export { Response, type ResponseCookie, type ResponseCookiesInit } from "./response.js";
export { REASON_PHRASES, reasonPhrase } from "./status-codes.js";
export { decodeUtf8Escaped, encodeUtf8Escaped } from "./surrogate-escape.js";
export { TCPMessage, type UDPMessage } from "./tcp.js";
export { TCPFlow, UDPFlow } from "./tcp-flow.js";
export { WebSocketData, WebSocketMessage, WebSocketOpcode } from "./websocket.js";
