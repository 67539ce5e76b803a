/**
 * JUnit XML, the test-report format GitHub, GitLab and Jenkins read: `<testsuites>` of
 * `<testsuite>`s of `<testcase>`s, each maybe with `<failure>`s. Text from flows is escaped
 * for XML, and characters XML 1.0 cannot hold at all are written as `\xNN` / `\uNNNN`.
 */

/** A failure of one test case. */
export interface JUnitFailure {
  /** one line */
  message: string;
  /** a kind, e.g. `changed`, `added`, `script-error` */
  type: string;
  /** the details */
  text: string;
}

/** One test case: a flow. */
export interface JUnitCase {
  name: string;
  classname: string;
  failures: JUnitFailure[];
}

/** One suite: an input, or a comparison. */
export interface JUnitSuite {
  name: string;
  cases: JUnitCase[];
}

/** Characters XML 1.0 forbids (controls but tab, newline, return; lone surrogates; U+FFFE/U+FFFF). */
const NOT_XML = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` as XML character data or an attribute value. */
export function xmlText(text: string): string {
  return text
    .replace(NOT_XML, (c) => (c.charCodeAt(0) < 0x100 ? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}` : `\\u${c.charCodeAt(0).toString(16)}`))
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** The document for `suites`, named `name`. */
export function junitXml(name: string, suites: readonly JUnitSuite[], timestamp = new Date()): string {
  const iso = timestamp.toISOString().replace(/\.\d+Z$/, "");
  const failed = (c: JUnitCase): number => (c.failures.length ? 1 : 0);
  const count = (cases: readonly JUnitCase[]): [number, number] => [cases.length, cases.reduce((n, c) => n + failed(c), 0)];
  const [tests, failures] = count(suites.flatMap((s) => s.cases));
  const out = [`<?xml version="1.0" encoding="UTF-8"?>`, `<testsuites name="${xmlText(name)}" tests="${tests}" failures="${failures}" errors="0" time="0">`];
  suites.forEach((suite, id) => {
    const [t, f] = count(suite.cases);
    out.push(`  <testsuite name="${xmlText(suite.name)}" id="${id}" tests="${t}" failures="${f}" errors="0" skipped="0" time="0" timestamp="${iso}" hostname="localhost">`);
    for (const c of suite.cases) {
      const open = `    <testcase name="${xmlText(c.name)}" classname="${xmlText(c.classname)}" time="0"`;
      if (c.failures.length === 0) {
        out.push(`${open}/>`);
        continue;
      }
      out.push(`${open}>`);
      for (const f of c.failures)
        out.push(`      <failure message="${xmlText(f.message)}" type="${xmlText(f.type)}">${xmlText(f.text)}</failure>`);
      out.push("    </testcase>");
    }
    out.push("  </testsuite>");
  });
  out.push("</testsuites>", "");
  return out.join("\n");
}
