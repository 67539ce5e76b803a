/**
 * `decoded(message, fn)`: work on a message's body decoded, then put its content coding
 * back, as the `with decoded(flow.response):` block of older mitmproxy scripts did.
 */
import type { Message } from "./message.js";

/**
 * Decodes the body (removing Content-Encoding), runs `fn`, then encodes the body again with
 * the coding it had, also when `fn` throws. An async `fn` is awaited before re-encoding.
 */
export function decoded<T>(message: Message, fn: () => T): T {
  const encoding = message.headers.get("content-encoding");
  message.decode();
  const restore = (): void => {
    if (encoding && !message.headers.has("content-encoding")) message.encode(encoding);
  };
  let result: T;
  try {
    result = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}
