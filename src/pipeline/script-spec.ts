/** Splitting `-s 'path/to/script.ts --foo 42'` shell-like into argv, as mitmproxy 0.14 did. */
import { UsageError } from "../errors.js";

/**
 * Splits a script spec by POSIX shell rules (quotes, backslash escapes, no expansion);
 * `argv[0]` is the script path. A path with spaces needs inner quotes: `"'./my dir/x.ts' 42"`.
 */
export function splitScriptSpec(spec: string): string[] {
  const argv: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === "\\" && i + 1 < spec.length && '"\\$`'.includes(spec[i + 1]!)) cur += spec[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < spec.length) {
      cur += spec[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) argv.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`unclosed ${quote} in script spec: ${spec}`);
  if (inWord) argv.push(cur);
  if (argv.length === 0) throw new UsageError("empty script spec");
  return argv;
}
