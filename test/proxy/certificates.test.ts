/** The capture CA and its per-host certificates, checked with OpenSSL's strict verifier. */
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { cpSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CA_CERT_FILE, CertificateAuthority, CertificateAuthorityError } from "../../src/proxy/tls/certificates.js";
import { testdata } from "../helpers.js";
import { tempDir } from "./capture-harness.js";

/** `openssl verify -x509_strict` of `leafPem` against `caFile`; returns its output (or throws). */
function strictVerify(caFile: string, leafPem: string, extra: string[] = []): string {
  const dir = tempDir("reflow-verify-");
  const leaf = join(dir, "leaf.pem");
  writeFileSync(leaf, leafPem);
  const r = spawnSync("openssl", ["verify", "-x509_strict", ...extra, "-CAfile", caFile, leaf], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl verify failed: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

function text(pem: string): string {
  const r = spawnSync("openssl", ["x509", "-noout", "-text"], { input: pem, encoding: "utf8" });
  return r.stdout;
}

describe("CertificateAuthority", () => {
  it("creates a CA on first use: key file 0600, certificate file for users, directory 0700", async () => {
    const dir = join(tempDir(), "conf");
    const ca = await CertificateAuthority.open(dir);
    expect(ca.file).toBe(join(dir, "reflow-ca.pem"));
    expect(statSync(join(dir, "reflow-ca.pem")).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const keyFile = readFileSync(join(dir, "reflow-ca.pem"), "utf8");
    expect(keyFile).toContain("PRIVATE KEY");
    const certFile = readFileSync(join(dir, CA_CERT_FILE), "utf8");
    expect(certFile).not.toContain("PRIVATE KEY");
    const cert = new X509Certificate(certFile);
    expect(cert.ca).toBe(true);
    // the next run loads the same CA
    const again = await CertificateAuthority.open(dir);
    expect(again.certPem).toBe(ca.certPem);
  });

  it("issues leaves that pass openssl verify -x509_strict: DNS names, IPv4, IPv6, long names", async () => {
    const dir = tempDir();
    const ca = await CertificateAuthority.open(dir);
    for (const host of ["example.com", "127.0.0.1", "::1", "2001:db8::8:1", `${"a".repeat(70)}.example`]) {
      const leaf = await ca.leaf(host);
      expect(strictVerify(join(dir, CA_CERT_FILE), leaf.pem)).toContain("OK");
      const x = new X509Certificate(leaf.pem);
      expect(x.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
      if (host.includes(":") || /^\d/.test(host)) expect(x.checkIP(host)).toBe(host);
      else expect(x.checkHost(host)).toBe(host);
    }
    const long = text((await ca.leaf(`${"a".repeat(70)}.example`)).pem);
    // no CN (too long for one), so the SAN is critical (RFC 5280 §4.2.1.6)
    expect(long).toMatch(/Subject Alternative Name: critical/);
  });

  it("puts the CA's subject key identifier into the leaves' authority key identifier", async () => {
    const dir = tempDir();
    const ca = await CertificateAuthority.open(dir);
    const ski = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(text(ca.certPem))![1];
    const aki = /Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)/.exec(text((await ca.leaf("example.org")).pem))![1];
    expect(aki).toBe(ski);
  });

  it("works with mitmproxy's CA (a confdir holding mitmproxy-ca.pem)", async () => {
    const dir = tempDir();
    cpSync(join(testdata, "mitmproxy-tests", "confdir"), dir, { recursive: true });
    const ca = await CertificateAuthority.open(dir);
    expect(ca.file).toBe(join(dir, "mitmproxy-ca.pem"));
    const leaf = await ca.leaf("example.com");
    // that test CA expired in 2016, so the check ignores time
    expect(strictVerify(join(dir, "mitmproxy-ca-cert.pem"), leaf.pem, ["-no_check_time"])).toContain("OK");
  });

  it("shares one generation between concurrent requests for a host, and bounds its cache", async () => {
    const ca = await CertificateAuthority.open(tempDir(), { cacheSize: 2 });
    const [a, b] = await Promise.all([ca.leaf("one.test"), ca.leaf("ONE.test")]);
    expect(a).toBe(b);
    await ca.leaf("two.test");
    await ca.leaf("three.test"); // evicts one.test
    const again = await ca.leaf("one.test");
    expect(again).not.toBe(a);
    expect(new X509Certificate(again.pem).serialNumber).not.toBe(new X509Certificate(a.pem).serialNumber);
  });

  it("refuses a CA file that holds no key", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "reflow-ca.pem"), readFileSync(join(testdata, "mitmproxy-tests", "confdir", "mitmproxy-ca-cert.pem")));
    await expect(CertificateAuthority.open(dir)).rejects.toBeInstanceOf(CertificateAuthorityError);
  });
});
