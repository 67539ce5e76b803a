import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  ContentEncodingError,
  ContentTooLargeError,
  decodeContent,
  encodeContent,
  isKnownContentEncoding,
} from "../../src/model/encoding.js";
import { HTTPFlow } from "../../src/model/http-flow.js";
import { flowFromState } from "../../src/model/flow-factory.js";
import { readRecords } from "./flow-files.js";

const body = Buffer.from("Hello mitmproxy flow format! ".repeat(20));

describe("content codecs", () => {
  it.each(["identity", "none", "gzip", "deflate", "deflateraw", "br", "zstd", "GZIP", "Br"])(
    "%s round-trips",
    (enc) => {
      const encoded = encodeContent(body, enc);
      expect(decodeContent(encoded, enc)).toEqual(body);
      expect(decodeContent(encodeContent(Buffer.alloc(0), enc), enc)).toEqual(Buffer.alloc(0));
    },
  );

  it.each(["gzip", "deflate", "deflateraw", "br", "zstd"])("%s: a limit stops a body that decodes to more (a bomb), not one that fits", (enc) => {
    const big = Buffer.alloc(3 << 20, 0x61); // 3 MiB that compresses to a few kilobytes
    const encoded = encodeContent(big, enc);
    expect(encoded.length, "a bomb: small stored").toBeLessThan(big.length / 100);
    // from the pair the encoder remembers, then decoded for real once another pair displaced it
    for (const how of ["remembered", "decoded"]) {
      if (how === "decoded") encodeContent(Buffer.from("another body"), enc);
      expect(decodeContent(encoded, enc, false, big.length).equals(big), `${how}: exactly at the limit`).toBe(true);
      let refusal: unknown;
      try {
        decodeContent(encoded, enc, false, (1 << 20) - 1);
      } catch (e) {
        refusal = e;
      }
      expect(refusal, `${enc}, ${how}`).toBeInstanceOf(ContentTooLargeError);
      expect((refusal as ContentTooLargeError).code).toBe("E_CONTENT_ENCODING");
    }
    // damage is still damage under a limit
    expect(() => decodeContent(Buffer.from("not compressed at all"), enc, false, 1 << 20)).toThrow(ContentEncodingError);
  });

  it("compresses with mitmproxy's settings", () => {
    const gz = encodeContent(Buffer.from("abc"), "gzip");
    // Python: gzip.GzipFile(mtime=0, compresslevel=1) over b"abc"
    expect(gz.toString("hex")).toBe("1f8b08000000000004ff4b4c4a0600c241243503000000");
    // Python: brotli.compress(b"abc" * 10, quality=0); zlib.compress(b"abc" * 10, level=1)
    expect(encodeContent(Buffer.from("abc".repeat(10)), "br").toString("hex")).toBe(
      "8b0e8061626361626361626361626361626361626361626361626361626361626303",
    );
    expect(encodeContent(Buffer.from("abc".repeat(10)), "deflate").toString("hex")).toBe("78014b4c4a4ec48d00b20c0b7d");
    // Python: zstandard.ZstdCompressor(level=1).compress(b"hello hello hello hello")
    expect(encodeContent(Buffer.from("hello hello hello hello"), "zstd").toString("hex")).toBe(
      "28b52ffd20176500003068656c6c6f200100994b11",
    );
  });

  it("decodes empty input to empty for every codec", () => {
    for (const enc of ["gzip", "deflate", "br", "zstd"])
      expect(decodeContent(Buffer.alloc(0), enc)).toEqual(Buffer.alloc(0));
  });

  it("gzip: also takes a zlib stream, reads only the first member, and tolerates a cut-off end", () => {
    expect(decodeContent(zlib.deflateSync(body), "gzip")).toEqual(body);
    const gz = zlib.gzipSync(body);
    expect(decodeContent(Buffer.concat([gz, gz]), "gzip")).toEqual(body);
    expect(decodeContent(Buffer.concat([gz, Buffer.from("trailing junk")]), "gzip")).toEqual(body);
    expect(decodeContent(gz.subarray(0, -6), "gzip")).toEqual(body); // trailer cut: Python's decompressobj does not check it
    const broken = Buffer.from(gz);
    broken.writeUInt32LE(0, broken.length - 8); // wrong CRC
    expect(() => decodeContent(broken, "gzip")).toThrow(ContentEncodingError);
  });

  it("gzip: the output does not depend on the size the trailer states (a hint for the output buffer)", () => {
    // larger than zlib's 16 KiB output chunk, and not very compressible, so it takes several
    const big = Buffer.from(Array.from({ length: 6000 }, (_, i) => `${(i * 2654435761) % 1000003},`).join(""));
    const gz = zlib.gzipSync(big);
    expect(decodeContent(gz, "gzip"), "a whole member").toEqual(big);
    expect(decodeContent(Buffer.concat([gz, gz.subarray(0, 20)]), "gzip"), "a second member cut short").toEqual(big);
    const inflated = (cut: Buffer): Buffer =>
      zlib.inflateRawSync(cut.subarray(10), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    for (const end of [gz.length - 8, gz.length - 200, 4000, 40]) {
      const cut = gz.subarray(0, end); // its last four bytes are deflate data, not a size
      expect(decodeContent(cut, "gzip"), `cut at ${end}`).toEqual(inflated(cut));
    }
    for (const size of [0, 1, big.length - 1, 0xffffffff]) {
      const lying = Buffer.from(gz);
      lying.writeUInt32LE(size, lying.length - 4);
      expect(() => decodeContent(lying, "gzip"), `trailer says ${size}`).toThrow(ContentEncodingError);
    }
  });

  it("gzip: reads headers with extra fields, names and comments", () => {
    const deflated = zlib.deflateRawSync(body);
    const header = Buffer.from([0x1f, 0x8b, 8, 0x04 | 0x08 | 0x10, 0, 0, 0, 0, 0, 0xff, 2, 0, 0xaa, 0xbb]);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(zlib.crc32(body), 0);
    trailer.writeUInt32LE(body.length, 4);
    const gz = Buffer.concat([header, Buffer.from("name\0comment\0"), deflated, trailer]);
    expect(decodeContent(gz, "gzip")).toEqual(body);
  });

  it("deflate: zlib-wrapped or raw; a truncated stream is an error", () => {
    expect(decodeContent(zlib.deflateRawSync(body), "deflate")).toEqual(body);
    expect(() => decodeContent(zlib.deflateSync(body).subarray(0, 10), "deflate")).toThrow(ContentEncodingError);
  });

  it("br: refuses truncated input and bytes after the stream, as the brotli module does", () => {
    const br = zlib.brotliCompressSync(body);
    expect(() => decodeContent(br.subarray(0, -3), "br")).toThrow(ContentEncodingError);
    expect(() => decodeContent(Buffer.concat([br, Buffer.from("XYZ")]), "br")).toThrow(ContentEncodingError);
  });

  it("zstd: reads concatenated frames; garbage is an error", () => {
    const z = encodeContent(body, "zstd");
    expect(decodeContent(Buffer.concat([z, encodeContent(Buffer.from("!"), "zstd")]), "zstd")).toEqual(
      Buffer.concat([body, Buffer.from("!")]),
    );
    expect(() => decodeContent(Buffer.from("not zstd at all"), "zstd")).toThrow(ContentEncodingError);
  });

  it("unknown codings and folded values (`gzip, br`) are errors", () => {
    expect(isKnownContentEncoding("zstd")).toBe(true);
    expect(isKnownContentEncoding("gzip, br")).toBe(false);
    expect(() => decodeContent(body, "gzip, br")).toThrow(ContentEncodingError);
    expect(() => encodeContent(body, "compress")).toThrow(ContentEncodingError);
    expect(() => decodeContent(body, "toString")).toThrow(ContentEncodingError);
    try {
      decodeContent(body, "x-bogus");
    } catch (e) {
      expect((e as ContentEncodingError).code).toBe("E_CONTENT_ENCODING");
    }
  });

  it("re-encoding what was just decoded gives back the original bytes (mitmproxy's codec cache)", () => {
    const original = zlib.gzipSync(body, { level: 9 }); // not what our encoder would write
    const decoded = decodeContent(original, "gzip");
    expect(encodeContent(decoded, "gzip")).toEqual(original);
    decoded[0] = 0x58; // a changed body is really re-encoded
    const changed = encodeContent(decoded, "gzip");
    expect(changed).not.toEqual(original);
    expect(decodeContent(changed, "gzip")[0]).toBe(0x58);
  });

  it("a decode that only shows the body (remember false) leaves the codec cache as it was", () => {
    const original = zlib.gzipSync(body, { level: 9 });
    const decoded = decodeContent(original, "gzip");
    const other = zlib.gzipSync(Buffer.from("another body"), { level: 9 });
    const shown = decodeContent(other, "gzip", false);
    expect(shown.toString()).toBe("another body");
    expect(encodeContent(decoded, "gzip"), "the pair remembered before").toEqual(original);
    expect(encodeContent(shown, "gzip"), "the shown pair was not remembered").not.toEqual(other);
  });
});

describe("bodies of real-v17.mitm (captured from mitmdump 8.1.1)", () => {
  it.each([
    [1, "gzip"],
    [2, "deflate"],
    [3, "br"],
    [4, "zstd"],
  ])("flow %i (%s) decodes to the plain body", async (index, enc) => {
    const records = await readRecords("captures/real-v17.mitm");
    const plain = (flowFromState(records[0]!) as HTTPFlow).response!;
    const flow = flowFromState(records[index]!) as HTTPFlow;
    const r = flow.response!;
    expect(r.headers.get("content-encoding")).toBe(enc);
    expect(r.rawContent).not.toEqual(plain.rawContent);
    expect(r.content).toEqual(plain.content);
    expect(r.text).toBe("Hello mitmproxy flow format! ".repeat(20));
  });
});
