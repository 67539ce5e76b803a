/** The writer's per-flow paths must all give the bytes a full encode of the flow's state gives. */
import { describe, expect, it } from "vitest";
import { FlowRecord } from "../../src/format/flow-record.js";
import { MigrationContext } from "../../src/format/migrations/index.js";
import { MitmEncoder, writableFor } from "../../src/format/mitm-writer.js";
import { DictIndex, IndexedDict, TnetEncoder, TnetstringError, decode, encode } from "../../src/format/tnetstring.js";
import { HTTPFlow, flowFromState } from "../../src/model/index.js";
import { readRecords } from "../model/flow-files.js";

const FILES = ["captures/real-v17.mitm", "captures/tflow-v21.mitm", "captures/real-v17-chunked.mitm"];

/** The same flow read afresh (a record keeps what was read of it). */
function fresh(record: FlowRecord): FlowRecord {
  return new FlowRecord(record.raw, record.file, new MigrationContext());
}

describe("writing a flow of which only some entries were read", () => {
  it.each(FILES)("%s: a changed response is encoded, every other entry copied as it stands", async (file) => {
    for (const record of await readRecords(file)) {
      const flow = flowFromState(record);
      if (!(flow instanceof HTTPFlow) || !flow.response) continue;
      flow.response.headers.set("newheader", "foo");
      expect((record.top() as IndexedDict).unfilled).not.toBeNull(); // only some entries read
      const encoder = new MitmEncoder(writableFor(record.storedVersion));
      const written = Buffer.from(encoder.encode(record));

      // the same change made to the whole parsed dict gives the same bytes
      const whole = fresh(record);
      const wholeFlow = flowFromState(whole) as HTTPFlow;
      void [...whole.top()]; // iterating fills the dict: every entry is in it
      wholeFlow.response!.headers.set("newheader", "foo");
      expect((whole.top() as IndexedDict).unfilled).toBeNull();
      expect(written.equals(encode(whole.top()))).toBe(true);
      expect(decode(written)).toEqual(decode(encode(whole.top())));
    }
  });

  it("an entry read but left alone is written as it was", async () => {
    for (const record of await readRecords("captures/real-v17.mitm")) {
      void flowFromState(record).id;
      void (flowFromState(record) as HTTPFlow).request?.method;
      expect(Buffer.from(new MitmEncoder(17).encode(record)).equals(record.raw.bytes)).toBe(true);
    }
  });

  it("an unfilled IndexedDict is written with what was set encoded and the rest copied", () => {
    const bytes = Buffer.from("24:1:a;1:1#1:b;1:2#1:c;1:3#}", "latin1");
    const index = new DictIndex(bytes);
    expect(index.keysUnique).toBe(true);
    const enc = new TnetEncoder(16);
    expect(enc.encode(new IndexedDict(index)).toString("latin1")).toBe(bytes.toString("latin1"));
    const changed = new IndexedDict(index).set("b", "x");
    expect(enc.encode(changed).toString("latin1")).toBe("24:1:a;1:1#1:b;1:x;1:c;1:3#}");
    expect((changed as IndexedDict).unfilled).not.toBeNull();
    expect(new DictIndex(Buffer.from("16:1:a;1:1#1:a;1:2#}", "latin1")).keysUnique).toBe(false);
    expect(new DictIndex(Buffer.from("16:1:a;1:1#1:a,1:2#}", "latin1")).keysUnique).toBe(true); // text a, bytes a
    const many = (last: string): Buffer => {
      const payload = Array.from({ length: 40 }, (_, i) => (i === 39 ? last : `k${i}`))
        .map((k, i) => `${k.length}:${k};${String(i).length}:${i}#`)
        .join("");
      return Buffer.from(`${payload.length}:${payload}}`, "latin1");
    };
    expect(new DictIndex(many("k39")).keysUnique).toBe(true); // more than 32 keys: checked another way
    expect(new DictIndex(many("k0")).keysUnique).toBe(false);
    expect(() => new DictIndex(Buffer.from("3:1:a}", "latin1"))).toThrow(TnetstringError);
  });
});
