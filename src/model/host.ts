/**
 * Host names as mitmproxy checks and converts them (`net/check.py`, the `idna` codec):
 * valid DNS names (underscores allowed) or IP addresses; IDNA between Unicode and ASCII,
 * label by label so that ASCII labels keep their case, as Python's codec does.
 */
import { isIP } from "node:net";
import { domainToASCII, domainToUnicode } from "node:url";

const LABEL = /^[A-Za-z0-9\-_]{1,63}$/;

/** A host name's ASCII (punycode) form; throws for a name IDNA cannot encode. */
export function idnaEncode(host: string): string {
  if (/^[\x00-\x7f]*$/.test(host)) return host;
  return host
    .split(".")
    .map((label) => {
      if (/^[\x00-\x7f]*$/.test(label)) return label;
      const ascii = domainToASCII(label);
      if (!ascii) throw new TypeError(`cannot IDNA-encode host label ${JSON.stringify(label)}`);
      return ascii;
    })
    .join(".");
}

/** A host name with its `xn--` labels turned back into Unicode. */
export function idnaDecode(host: string): string {
  if (!/(^|\.)xn--/i.test(host)) return host;
  return host
    .split(".")
    .map((label) => {
      if (!/^xn--/i.test(label)) return label;
      const u = domainToUnicode(label);
      if (!u) throw new TypeError(`invalid IDNA label ${JSON.stringify(label)}`);
      return u;
    })
    .join(".");
}

/** An ASCII host name without IDNA labels whose labels are all valid: the common case, checked in one go. */
const PLAIN_HOST = /^(?:[A-Za-z0-9\-_]{1,63}\.)*[A-Za-z0-9\-_]{1,63}\.?$/;

/** True for a valid DNS host name (RFC 1035 lengths, underscores tolerated) or an IPv4/IPv6 address. */
export function isValidHost(host: string): boolean {
  // Every filter on a host asks this for every flow: settle plain names without splitting them.
  if (host.length <= 255 && PLAIN_HOST.test(host) && !/(^|\.)xn--/i.test(host)) return true;
  let ascii: string;
  try {
    ascii = idnaEncode(host);
    idnaDecode(ascii);
  } catch {
    return false;
  }
  if (Buffer.byteLength(ascii) > 255) return false;
  const name = ascii.endsWith(".") ? ascii.slice(0, -1) : ascii;
  if (name.split(".").every((l) => LABEL.test(l))) return true;
  return isIP(host) !== 0;
}

/** True for a TCP/UDP port number. */
export function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535;
}
