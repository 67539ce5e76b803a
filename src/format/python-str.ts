/**
 * Flow-state values as Python's `str()` shows them: `~meta` matches mitmproxy's
 * `f"{key}: {value}"` lines, so `{"a": 1}` must read `{'a': 1}`, `True` not `true`,
 * `b'x'` for bytes and `1.0` for an integral float.
 */
import { PyFloat, RawElement, type TValue, pythonFloatRepr, resolve } from "./tnetstring.js";

/** `str(value)` in Python: text as it is, everything else as its repr. */
export function pythonStr(value: TValue): string {
  return typeof value === "string" ? value : pythonRepr(value);
}

/** `repr(value)` in Python, for the values a flow state holds. */
export function pythonRepr(value: TValue): string {
  if (value instanceof RawElement) return pythonRepr(resolve(value));
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "bigint") return value.toString();
  // integral floats are decoded as PyFloat, so a plain integral number was an int
  if (typeof value === "number") return Number.isInteger(value) ? value.toFixed(0) : pythonFloatRepr(value);
  if (value instanceof PyFloat) return pythonFloatRepr(value.value);
  if (typeof value === "string") return strRepr(value);
  if (Buffer.isBuffer(value)) return bytesRepr(value);
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(", ")}]`;
  const entries: string[] = [];
  for (const [k, v] of value) entries.push(`${pythonRepr(k as TValue)}: ${pythonRepr(v)}`);
  return `{${entries.join(", ")}}`;
}

/** Python quotes with `'` unless the text holds `'` and no `"`. */
function quoteFor(text: string): string {
  return text.includes("'") && !text.includes('"') ? '"' : "'";
}

// What str.isprintable() rejects: controls, format, surrogates, private use, unassigned, separators but space.
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function strRepr(text: string): string {
  const q = quoteFor(text);
  let out = q;
  for (const ch of text) {
    if (ch === "\\" || ch === q) out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch !== " " && NON_PRINTABLE.test(ch)) {
      const cp = ch.codePointAt(0)!;
      out += cp < 0x100 ? `\\x${hex(cp, 2)}` : cp < 0x10000 ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
    } else out += ch;
  }
  return out + q;
}

function bytesRepr(bytes: Buffer): string {
  const q = quoteFor(bytes.toString("latin1"));
  let out = `b${q}`;
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    if (ch === "\\" || ch === q) out += `\\${ch}`;
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x0d) out += "\\r";
    else if (b === 0x09) out += "\\t";
    else if (b < 0x20 || b >= 0x7f) out += `\\x${hex(b, 2)}`;
    else out += ch;
  }
  return out + q;
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, "0");
