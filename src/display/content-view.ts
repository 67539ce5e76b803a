/**
 * Bodies and messages shown the way mitmproxy's content views show them: JSON pretty-printed,
 * URL-encoded forms as fields, text decoded in its charset, images and other binary data as
 * their size and a hex dump.
 */
import { decodeText, inferCharset } from "../model/index.js";
import { hexDumpLineCount, hexDumpLines } from "./hex-dump.js";
import { escapeControl } from "./human.js";

/** What a view made of some content. */
export interface ContentView {
  /** which view was chosen: `json`, `form`, `text`, `image` or `binary` */
  readonly kind: "json" | "form" | "text" | "image" | "binary";
  /** the lines (without indent); hex dumps are produced only up to `maxLines` */
  readonly lines: string[];
  /** the number of lines the whole view has */
  readonly totalLines: number;
}

const TEXTUAL_TYPE =
  /^text\/|[/+](json|xml|javascript|ecmascript|x-www-form-urlencoded|yaml|csv|graphql)\b|^application\/(x-)?(sh|sql)/i;

/**
 * Views `content` (already decoded from its Content-Encoding) given its Content-Type (or
 * null for TCP and WebSocket messages). At most `maxLines` lines are made.
 */
export function viewContent(content: Buffer, contentType: string | null, maxLines = Infinity): ContentView {
  if (content.length === 0) return { kind: "text", lines: [], totalLines: 0 };
  const mime = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (mime.startsWith("image/")) return binaryView("image", `${mime}, ${content.length} bytes`, content, maxLines);
  const text = asText(content, contentType, mime);
  if (text === null) return binaryView("binary", `binary, ${content.length} bytes`, content, maxLines);
  if (mime.endsWith("json") || mime.endsWith("+json") || (!mime && /^\s*[[{]/.test(text))) {
    const pretty = prettyJson(text);
    if (pretty !== null) return linesView("json", pretty, maxLines);
  }
  if (mime === "application/x-www-form-urlencoded") return linesView("form", formFields(text), maxLines);
  return linesView("text", text.split(/\r\n|\r|\n/).map(escapeControl), maxLines);
}

function linesView(kind: ContentView["kind"], text: string | string[], maxLines: number): ContentView {
  const all = typeof text === "string" ? text.split("\n") : text;
  if (all.length > 0 && all[all.length - 1] === "") all.pop(); // a final newline ends the last line, it is not one more
  return { kind, lines: all.slice(0, maxLines), totalLines: all.length };
}

function binaryView(kind: "image" | "binary", title: string, content: Buffer, maxLines: number): ContentView {
  const lines = [`(${title})`, ...hexDumpLines(content, Math.max(0, maxLines - 1))];
  return { kind, lines, totalLines: 1 + hexDumpLineCount(content.length) };
}

/**
 * The content as text, or null when it looks binary: declared text is decoded in its
 * charset; undeclared content counts as text when it is UTF-8 with few control characters.
 */
function asText(content: Buffer, contentType: string | null, mime: string): string | null {
  if (mime && (TEXTUAL_TYPE.test(mime) || /;\s*charset=/i.test(contentType ?? ""))) {
    try {
      return decodeText(content, inferCharset(contentType ?? "", content));
    } catch {
      return null;
    }
  }
  if (mime && mime !== "application/octet-stream" && !mime.startsWith("multipart/")) return null;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(content);
  } catch {
    return null;
  }
  const controls = text.match(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g)?.length ?? 0;
  return controls * 20 > text.length ? null : text;
}

/** URL-encoded fields as aligned `name: value` lines. */
function formFields(text: string): string[] {
  const pairs = [...new URLSearchParams(text)];
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => escapeControl(`${`${k}:`.padEnd(width + 1)} ${v}`));
}

/**
 * Re-indents JSON text (4 spaces) without parsing its values, so numbers, key order and
 * escapes stay exactly as sent; null when it is not JSON.
 */
export function prettyJson(text: string): string | null {
  try {
    JSON.parse(text);
  } catch {
    return null;
  }
  let out = "";
  let depth = 0;
  const newline = (): string => `\n${"    ".repeat(depth)}`;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      let j = i + 1;
      while (/\s/.test(text[j] ?? "")) j++;
      if (text[j] === close) {
        out += c + close; // empty: {} and [] stay on one line
        i = j;
      } else {
        depth++;
        out += c + newline();
      }
    } else if (c === "}" || c === "]") {
      depth--;
      out += newline() + c;
    } else if (c === ",") out += `,${newline()}`;
    else if (c === ":") out += ": ";
    else if (!/\s/.test(c)) out += c;
  }
  return out.split("\n").map(escapeControl).join("\n");
}
