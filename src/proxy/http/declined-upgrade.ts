/**
 * Upgrades other than WebSocket (h2c above all) are declined as mitmdump declines them:
 * the request goes on as plain HTTP/1.1 without the upgrade and what only it needed.
 */
import type { IncomingMessage } from "node:http";

/** The request head of `req` as bytes, without its Upgrade (and what only the upgrade needed). */
export function withoutUpgrade(req: IncomingMessage): Buffer {
  const raw = req.rawHeaders;
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === "upgrade" || name === "http2-settings") continue;
    let value = raw[i + 1]!;
    if (name === "connection") {
      value = value.split(",").map((t) => t.trim()).filter((t) => !/^(upgrade|http2-settings)$/i.test(t)).join(", ");
      if (!value) continue;
    }
    lines.push(`${raw[i]}: ${value}`);
  }
  return Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1");
}
