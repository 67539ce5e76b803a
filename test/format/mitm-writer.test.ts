/** The writer's per-flow paths must all give the bytes a full encode of the flow's state gives. */
import { describe, expect, it } from "vitest";
import { FlowRecord } from "../../src/format/flow-record.js";
import { MigrationContext } from "../../src/format/migrations/index.js";
import { MitmEncoder, writableFor } from "../../src/format/mitm-writer.js";
import { DictIndex, IndexedDict, RawElement, TnetEncoder, TnetstringError, decode, encode } from "../../src/format/tnetstring.js";
import { HTTPFlow, flowFromState } from "../../src/model/index.js";
import { readRecords } from "../model/flow-files.js";
import { relative } from "node:path";
import { allMitmFiles, testdata } from "../helpers.js";

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

  it("header edits made on the stored bytes write what the same edits on the decoded list write, in every test file", async () => {
    /** What a script may do to headers: set (a new name, an existing one in other case), add, setAll, remove. */
    const edits: ((flow: HTTPFlow, first: string) => void)[] = [
      (flow) => flow.response!.headers.set("newheader", "foo"),
      (flow, first) => flow.response!.headers.set(first.toUpperCase(), "x"),
      (flow) => flow.response!.headers.add("X-Added", "1"),
      (flow, first) => flow.response!.headers.setAll(first, ["a=1", "b=2"]),
      (flow, first) => flow.response!.headers.setAll(first, []),
      (flow, first) => flow.response!.headers.delete(first),
      (flow) => flow.response!.headers.delete("not-there"),
      // a --modify-headers rule: delete, then add at the end
      (flow, first) => flow.response!.headers.delete(first) && flow.response!.headers.add(first, "ruled"),
    ];
    let stored = 0;
    for (const path of allMitmFiles()) {
      let records: FlowRecord[];
      try {
        records = await readRecords(relative(testdata, path));
      } catch {
        continue; // damaged on purpose: not about writing
      }
      for (const record of records) {
        if (!record.isNative || record.type !== "http") continue; // others hold their headers decoded
        const version = writableFor(record.storedVersion);
        for (const edit of edits) {
          const onBytes = fresh(record);
          const onList = fresh(record);
          let first: string;
          try {
            const flow = flowFromState(onList) as HTTPFlow;
            if (!flow.response) break;
            first = flow.response.headers.fields[0]?.[0].toString("latin1") ?? "none"; // decodes the list
          } catch {
            break; // damaged on purpose: not about writing
          }
          edit(flowFromState(onList) as HTTPFlow, first);
          edit(flowFromState(onBytes) as HTTPFlow, first);
          const response = onBytes.top().get("response") as IndexedDict;
          if (response.peek("headers") instanceof RawElement) stored++;
          const where = `${path}: flow ${record.raw.index}, ${edit.toString()}`;
          expect(Buffer.from(new MitmEncoder(version).encode(onBytes)).toString("latin1"), where).toBe(
            Buffer.from(new MitmEncoder(version).encode(onList)).toString("latin1"),
          );
        }
      }
    }
    expect(stored).toBeGreaterThan(100); // the edits on the stored bytes were taken, not the decoding path
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
    // keys of the same length and end bytes are told apart by the bytes between
    expect(new DictIndex(Buffer.from("30:3:abc;1:1#3:axc;1:2#3:abc,1:3#}", "latin1")).keysUnique).toBe(true);
    expect(new DictIndex(Buffer.from("30:3:abc;1:1#3:axc;1:2#3:axc;1:3#}", "latin1")).keysUnique).toBe(false);
    expect(new DictIndex(Buffer.from("14:0:;1:1#0:;1:2#}", "latin1")).keysUnique).toBe(false);
    expect(new DictIndex(many("k39")).keysUnique).toBe(true); // more than 32 keys: checked another way
    expect(new DictIndex(many("k0")).keysUnique).toBe(false);
    expect(() => new DictIndex(Buffer.from("3:1:a}", "latin1"))).toThrow(TnetstringError);
  });
});
