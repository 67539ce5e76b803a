/** OutputFile in this process: copied and kept bytes go out in order, kept ones only when asked or full. */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OutputFile } from "../../src/io/output-file.js";

const dir = mkdtempSync(join(tmpdir(), "reflow-output-"));

describe("OutputFile", () => {
  it("writes copied and kept bytes in the order given, adjacent kept slices as one", async () => {
    const path = join(dir, "mixed.bin");
    const out = await OutputFile.open(path);
    const read = Buffer.from("AAAABBBBCCCC");
    const scratch = Buffer.from("xx");
    await out.writeKept(read.subarray(0, 4));
    await out.writeKept(read.subarray(4, 8)); // continues the last slice
    await out.write(scratch);
    scratch.fill("z"); // copied: changing it now changes nothing
    await out.writeKept(read.subarray(8));
    await out.commit();
    expect(readFileSync(path, "latin1")).toBe("AAAABBBBxxCCCC");
  });

  it("writes kept bytes out when released, so their owner may reuse them", async () => {
    const path = join(dir, "released.bin");
    const out = await OutputFile.open(path);
    const chunk = Buffer.from("first");
    await out.writeKept(chunk);
    await out.releaseKept();
    chunk.write("XXXXX"); // reused after the release
    await out.write(Buffer.from("-second"));
    expect(out.releaseKept(), "nothing kept is queued: copied bytes wait").toBeUndefined();
    await out.commit();
    expect(readFileSync(path, "latin1")).toBe("first-second");
  });

  it("writes more than a batch, copied and kept, whole", async () => {
    const path = join(dir, "large.bin");
    const out = await OutputFile.open(path);
    const parts: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const part = Buffer.alloc(100_000 + i, i);
      parts.push(Buffer.from(part));
      if (i % 2) await out.writeKept(part);
      else await out.write(part);
    }
    await out.commit();
    expect(readFileSync(path).equals(Buffer.concat(parts))).toBe(true);
  });
});
