/**
 * Content-Type values, parsed as loosely as mitmproxy's `parse_content_type` does.
 */

/** A parsed Content-Type: lower-cased type and subtype, parameters as written. */
export interface ContentType {
  type: string;
  subtype: string;
  params: Map<string, string>;
}

/** Parses `text/html; charset=UTF-8`; null when there is no `type/subtype`. */
export function parseContentType(value: string): ContentType | null {
  const semi = value.indexOf(";");
  const main = semi < 0 ? value : value.slice(0, semi);
  const slash = main.indexOf("/");
  if (slash < 0) return null;
  const params = new Map<string, string>();
  if (semi >= 0) {
    for (const clause of value.slice(semi + 1).split(";")) {
      const eq = clause.indexOf("=");
      if (eq >= 0) params.set(clause.slice(0, eq).trim(), clause.slice(eq + 1).trim());
    }
  }
  return { type: main.slice(0, slash).toLowerCase(), subtype: main.slice(slash + 1).toLowerCase(), params };
}

/** Writes a Content-Type back: `type/subtype; k=v; …`. */
export function formatContentType(ct: ContentType): string {
  const params = [...ct.params].map(([k, v]) => `${k}=${v}`).join("; ");
  return params ? `${ct.type}/${ct.subtype}; ${params}` : `${ct.type}/${ct.subtype}`;
}
