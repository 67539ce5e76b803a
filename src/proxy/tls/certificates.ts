/**
 * The capture CA and the per-host certificates made from it for TLS interception.
 *
 * The CA lives in a confdir (default ~/.reflow): `reflow-ca.pem` holds key and certificate
 * (mode 0600), `reflow-ca-cert.pem` the certificate alone, for users to trust. A confdir of
 * mitmproxy's (`mitmproxy-ca.pem`) works as it is. Node's crypto cannot build X.509
 * certificates: the self-signed CA is made once with @peculiar/x509; per-host leaves,
 * which must be fast, are assembled from DER by LeafIssuer.
 */
import { type KeyObject, X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes, webcrypto } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type SecureContext, createSecureContext } from "node:tls";
import { BoundedCache } from "./bounded-cache.js";
import { LeafIssuer } from "./leaf-certificate.js";

const DAY = 86_400_000;
/** Backdated like mitmproxy's, for clients whose clocks run slow. */
const VALIDITY_OFFSET = -2 * DAY;
const CA_LIFETIME = 10 * 365 * DAY;
/** Per-host certificates kept at once (mitmproxy keeps 100). */
const DEFAULT_CACHE_SIZE = 1000;

/** File names in the confdir, in the order they are looked for. */
export const CA_FILES = ["reflow-ca.pem", "mitmproxy-ca.pem"] as const;
export const CA_CERT_FILE = "reflow-ca-cert.pem";

/** A certificate made for one host, ready to serve. */
export interface LeafCertificate {
  /** the certificate, PEM */
  pem: string;
  /** its private key (the process-wide leaf key), PEM */
  keyPem: string;
  /** a TLS context serving it with that key */
  context: SecureContext;
}

/** Why the CA could not be loaded or created. */
export class CertificateAuthorityError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = "CertificateAuthorityError";
  }
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----\r?\n?/g;

function pemBlocks(text: string): { label: string; pem: string }[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1]!, pem: m[0] }));
}

/** A random positive serial number (RFC 5280 §4.1.2.2: at most 20 octets, positive). */
function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString("hex");
}

/** The self-signed CA certificate for `keys` (ECDSA P-256), PEM. */
async function selfSignedCa(keys: webcrypto.CryptoKeyPair): Promise<string> {
  // tsyringe, inside @peculiar/x509, needs the Reflect metadata polyfill; both load only here.
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: "CN=reflow, O=reflow",
    notBefore: new Date(now + VALIDITY_OFFSET),
    notAfter: new Date(now + VALIDITY_OFFSET + CA_LIFETIME),
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    keys: keys as unknown as CryptoKeyPairLike,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as CryptoKeyLike),
    ],
  });
  return cert.toString("pem") + "\n";
}
type CryptoKeyPairLike = Parameters<typeof import("@peculiar/x509").X509CertificateGenerator.createSelfSigned>[0]["keys"];
type CryptoKeyLike = Parameters<typeof import("@peculiar/x509").SubjectKeyIdentifierExtension.create>[0];

/** The process-wide CA: loads or creates it, and issues per-host certificates on demand. */
export class CertificateAuthority {
  private readonly cache: BoundedCache<string, Promise<LeafCertificate>>;

  private constructor(
    /** the file the CA was read from (or written to) */
    readonly file: string,
    /** the CA certificate, PEM */
    readonly certPem: string,
    private readonly issuer: LeafIssuer,
    /** the process-wide leaf key, PEM */
    private readonly leafKeyPem: string,
    cacheSize: number,
  ) {
    this.cache = new BoundedCache(cacheSize);
  }

  /**
   * The CA of `confdir`: reflow's own, else mitmproxy's, else a new one written there
   * (the directory is created 0700, the key file 0600).
   */
  static async open(confdir: string, opts: { cacheSize?: number } = {}): Promise<CertificateAuthority> {
    for (const name of CA_FILES) {
      const file = join(confdir, name);
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw new CertificateAuthorityError(file, (e as Error).message);
      }
      return CertificateAuthority.fromPem(file, text, opts.cacheSize);
    }
    return CertificateAuthority.create(confdir, opts.cacheSize);
  }

  /** Reads a PEM file holding the CA's private key and certificate. */
  static fromPem(file: string, text: string, cacheSize = DEFAULT_CACHE_SIZE): CertificateAuthority {
    const blocks = pemBlocks(text);
    const keyBlock = blocks.find((b) => b.label.endsWith("PRIVATE KEY"));
    const certBlock = blocks.find((b) => b.label === "CERTIFICATE");
    if (!keyBlock || !certBlock) throw new CertificateAuthorityError(file, "expected a private key and a certificate (PEM)");
    try {
      const caKey: KeyObject = createPrivateKey(keyBlock.pem);
      if (!new X509Certificate(certBlock.pem).checkPrivateKey(caKey)) throw new Error("the private key does not belong to the certificate");
      // One key for every leaf (mitmproxy does the same): ECDSA P-256, cheap to sign handshakes with.
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
      const leafKeyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
      return new CertificateAuthority(file, certBlock.pem, new LeafIssuer(certBlock.pem, caKey, privateKey), leafKeyPem, cacheSize);
    } catch (e) {
      if (e instanceof CertificateAuthorityError) throw e;
      throw new CertificateAuthorityError(file, (e as Error).message);
    }
  }

  /**
   * Makes a new CA in `confdir` and writes its files. The key is ECDSA P-256 (mitmproxy's is
   * RSA 2048): every client in use accepts it, and signing a leaf with it is cheap, which is
   * what a new host costs.
   */
  static async create(confdir: string, cacheSize = DEFAULT_CACHE_SIZE): Promise<CertificateAuthority> {
    const file = join(confdir, CA_FILES[0]);
    try {
      await mkdir(confdir, { recursive: true, mode: 0o700 });
      const keys = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
      const certPem = await selfSignedCa(keys);
      const keyDer = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
      const keyPem = createPrivateKey({ key: keyDer, format: "der", type: "pkcs8" }).export({ type: "pkcs8", format: "pem" });
      // The key file is secret: created 0600, and chmod'ed too since the umask may not allow it.
      await writeFile(file, keyPem + certPem, { mode: 0o600, flag: "wx" });
      await chmod(file, 0o600);
      await writeFile(join(confdir, CA_CERT_FILE), certPem, { mode: 0o644 });
      return CertificateAuthority.fromPem(file, keyPem + certPem, cacheSize);
    } catch (e) {
      if (e instanceof CertificateAuthorityError) throw e;
      // Two processes creating the CA at once: the loser reads the winner's file.
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return CertificateAuthority.fromPem(file, await readFile(file, "utf8"), cacheSize);
      throw new CertificateAuthorityError(file, (e as Error).message);
    }
  }

  /**
   * The certificate for `host` (a DNS name or an IP literal), made on first use and kept
   * in a bounded cache; concurrent requests for one host share one generation.
   */
  leaf(host: string): Promise<LeafCertificate> {
    const key = host.toLowerCase();
    let entry = this.cache.get(key);
    if (!entry) {
      entry = this.issue(key);
      this.cache.set(key, entry);
      entry.catch(() => this.cache.delete(key));
    }
    return entry;
  }

  private async issue(host: string): Promise<LeafCertificate> {
    const pem = this.issuer.issue(host);
    return { pem, keyPem: this.leafKeyPem, context: createSecureContext({ key: this.leafKeyPem, cert: pem }) };
  }
}
