/**
 * A HAR 1.2 structure check (http://www.softwareishard.com/blog/har-12-spec/): every
 * required field present with its type, every number finite. One allowance, mitmproxy's:
 * an entry without a response (status 0) has `content: {}`.
 */
type Obj = Record<string, unknown>;

export function harSchemaErrors(doc: unknown): string[] {
  const errors: string[] = [];
  const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
  const need = (
    o: unknown,
    path: string,
    fields: Record<string, "string" | "number" | "object" | "array" | "boolean">,
  ): o is Obj => {
    if (!isObj(o)) {
      errors.push(`${path}: not an object`);
      return false;
    }
    for (const [k, type] of Object.entries(fields)) {
      const v = o[k];
      const ok =
        type === "array"
          ? Array.isArray(v)
          : type === "object"
            ? isObj(v)
            : type === "number"
              ? typeof v === "number" && Number.isFinite(v)
              : typeof v === type;
      if (!ok) errors.push(`${path}.${k}: expected ${type}, found ${JSON.stringify(v)}`);
    }
    return true;
  };
  const pairs = (list: unknown, path: string): void => {
    if (Array.isArray(list)) list.forEach((p, i) => need(p, `${path}[${i}]`, { name: "string", value: "string" }));
  };
  if (!need(doc, "", { log: "object" })) return errors;
  const log = (doc as Obj).log;
  if (!need(log, "log", { version: "string", creator: "object", entries: "array" })) return errors;
  need((log as Obj).creator, "log.creator", { name: "string", version: "string" });
  ((log as Obj).entries as unknown[]).forEach((e, i) => {
    const at = `log.entries[${i}]`;
    if (
      !need(e, at, {
        startedDateTime: "string",
        time: "number",
        request: "object",
        response: "object",
        cache: "object",
        timings: "object",
      })
    )
      return;
    const entry = e as Obj;
    if (Number.isNaN(Date.parse(entry.startedDateTime as string))) errors.push(`${at}.startedDateTime: not a date`);
    const req = entry.request as Obj;
    need(req, `${at}.request`, {
      method: "string",
      url: "string",
      httpVersion: "string",
      cookies: "array",
      headers: "array",
      queryString: "array",
      headersSize: "number",
      bodySize: "number",
    });
    pairs(req.headers, `${at}.request.headers`);
    pairs(req.queryString, `${at}.request.queryString`);
    pairs(req.cookies, `${at}.request.cookies`);
    if (req.postData !== undefined) need(req.postData, `${at}.request.postData`, { mimeType: "string" });
    const res = entry.response as Obj;
    need(res, `${at}.response`, {
      status: "number",
      statusText: "string",
      httpVersion: "string",
      cookies: "array",
      headers: "array",
      content: "object",
      redirectURL: "string",
      headersSize: "number",
      bodySize: "number",
    });
    pairs(res.headers, `${at}.response.headers`);
    if (res.status !== 0) need(res.content, `${at}.response.content`, { size: "number", mimeType: "string" });
    need(entry.timings, `${at}.timings`, { send: "number", wait: "number", receive: "number" });
  });
  return errors;
}
