/**
 * Per-host certificates assembled straight from DER (RFC 5280 §4.1) and signed with Node's
 * crypto: issuer, key, algorithm and the shared extensions are encoded once per CA, so a
 * new host costs a serial number, two dates, a name and one signature.
 */
import { type KeyObject, X509Certificate, createHash, createPublicKey, randomBytes, sign } from "node:crypto";
import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import {
  bitString,
  booleanTrue,
  explicit,
  nullValue,
  octetString,
  oid,
  positiveInteger,
  readTlv,
  sequence,
  set,
  time,
  tlv,
  utf8String,
} from "./der.js";

const DAY = 86_400_000;
/** Backdated like mitmproxy's, for clients whose clocks run slow. */
const VALIDITY_OFFSET = -2 * DAY;
/** mitmproxy ≥ 12 issues leaves for 199 days (short lifetimes are what browsers accept). */
const LEAF_LIFETIME = 199 * DAY;

const OID_SKI = "2.5.29.14";

/** The TLV children of the constructed TLV at `pos`. */
function children(der: Buffer, pos: number): { tag: number; pos: number; start: number; end: number }[] {
  const outer = readTlv(der, pos);
  const out = [];
  for (let p = outer.start; p < outer.end; ) {
    const t = readTlv(der, p);
    out.push({ ...t, pos: p });
    p = t.end;
  }
  return out;
}

/** The CA's subject (DER, as is) and subject key identifier (null when it has none). */
function caFacts(caDer: Buffer): { subject: Buffer; ski: Buffer | null } {
  const tbs = children(caDer, 0)[0]!;
  const fields = children(caDer, tbs.pos);
  // version [0] is present in v3 certificates: serial, signature, issuer, validity, subject follow it
  const base = fields[0]!.tag === 0xa0 ? 1 : 0;
  const subj = fields[base + 4]!;
  const subject = caDer.subarray(subj.pos, subj.end);
  const extsWrapper = fields.find((f) => f.tag === 0xa3);
  if (extsWrapper) {
    for (const ext of children(caDer, children(caDer, extsWrapper.pos)[0]!.pos)) {
      const parts = children(caDer, ext.pos);
      if (caDer.subarray(parts[0]!.pos, parts[0]!.end).equals(oid(OID_SKI))) {
        const value = parts[parts.length - 1]!; // OCTET STRING wrapping an OCTET STRING
        const inner = readTlv(caDer, value.start);
        return { subject, ski: Buffer.from(caDer.subarray(inner.start, inner.end)) };
      }
    }
  }
  return { subject, ski: null };
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdOf(spki: Buffer): Buffer {
  const [, bits] = children(spki, 0);
  return createHash("sha1").update(spki.subarray(bits!.start + 1, bits!.end)).digest();
}

/** The signature AlgorithmIdentifier and digest for a CA key (RFC 5758 §3.2, RFC 4055). */
function signatureAlgorithm(key: KeyObject): { algorithm: Buffer; hash: string } {
  if (key.asymmetricKeyType === "rsa") return { algorithm: sequence(oid("1.2.840.113549.1.1.11"), nullValue()), hash: "sha256" };
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === "secp384r1") return { algorithm: sequence(oid("1.2.840.10045.4.3.3")), hash: "sha384" };
    if (curve === "secp521r1") return { algorithm: sequence(oid("1.2.840.10045.4.3.4")), hash: "sha512" };
    return { algorithm: sequence(oid("1.2.840.10045.4.3.2")), hash: "sha256" };
  }
  throw new Error(`unsupported CA key type ${key.asymmetricKeyType ?? "?"} (RSA or EC expected)`);
}

/** An IP literal as the bytes of an iPAddress general name. */
function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  const [head, tail = ""] = ip.includes("::") ? ip.split("::") : [ip, undefined as unknown as string];
  const groups = (s: string): string[] => (s ? s.split(":") : []);
  const h = groups(head!);
  const t = ip.includes("::") ? groups(tail) : [];
  const all = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** Issues leaf certificates from one CA for one process-wide leaf key. */
export class LeafIssuer {
  private readonly issuer: Buffer;
  private readonly spki: Buffer;
  private readonly algorithm: Buffer;
  private readonly hash: string;
  /** EKU serverAuth and the AKI naming the CA, encoded once */
  private readonly sharedExtensions: Buffer;

  constructor(
    caCertPem: string,
    private readonly caKey: KeyObject,
    leafKey: KeyObject,
  ) {
    const caDer = new X509Certificate(caCertPem).raw;
    const { subject, ski } = caFacts(caDer);
    this.issuer = subject; // byte-equal to the CA's subject, as chain building compares
    this.spki = createPublicKey(leafKey).export({ type: "spki", format: "der" });
    ({ algorithm: this.algorithm, hash: this.hash } = signatureAlgorithm(caKey));
    // RFC 5280 §4.2.1.1: the AKI's key id must equal the issuer's stored SKI.
    const keyId = ski ?? keyIdOf(createPublicKey(caKey).export({ type: "spki", format: "der" }));
    const aki = sequence(oid("2.5.29.35"), octetString(sequence(tlv(0x80, keyId))));
    const eku = sequence(oid("2.5.29.37"), octetString(sequence(oid("1.3.6.1.5.5.7.3.1"))));
    this.sharedExtensions = Buffer.concat([eku, aki]);
  }

  /** A certificate for `host` (DNS name or IP literal), PEM. */
  issue(host: string): string {
    const ip = isIP(host) !== 0;
    const name = ip ? host : domainToASCII(host) || host;
    const hasCommonName = name.length < 64; // X.520 ub-common-name
    const serial = randomBytes(16);
    serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, 16 octets (RFC 5280 §4.1.2.2)
    const now = Date.now();
    const subject = hasCommonName ? sequence(set(sequence(oid("2.5.4.3"), utf8String(name)))) : sequence();
    const generalName = ip ? tlv(0x87, ipBytes(host)) : tlv(0x82, Buffer.from(name, "ascii"));
    // RFC 5280 §4.2.1.6: the SAN is critical when the subject is empty.
    const san = sequence(oid("2.5.29.17"), ...(hasCommonName ? [] : [booleanTrue()]), octetString(sequence(generalName)));
    const tbs = sequence(
      explicit(0, positiveInteger(Buffer.from([2]))), // v3
      positiveInteger(serial),
      this.algorithm,
      this.issuer,
      sequence(time(new Date(now + VALIDITY_OFFSET)), time(new Date(now + VALIDITY_OFFSET + LEAF_LIFETIME))),
      subject,
      this.spki,
      explicit(3, sequence(san, this.sharedExtensions)),
    );
    const signature = sign(this.hash, tbs, this.caKey);
    const der = sequence(tbs, this.algorithm, bitString(signature));
    const b64 = der.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
    return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
  }
}
