/** Choosing the mitm format version to write. */
import { type StoredVersion } from "../format/flow-record.js";
import { WRITABLE_VERSIONS, type WritableVersion } from "../format/migrations/index.js";
import { writableFor } from "../format/mitm-writer.js";

export { writableFor };
import { readFlowRecords } from "../io/flow-source.js";
import { isRegularFile } from "../io/file-kind.js";
import { peekingAtStdin } from "../io/input.js";
import { UsageError } from "../errors.js";

/** Parses `--flow-version N`. */
export function parseFlowVersion(text: string): WritableVersion {
  const n = Number(text);
  if (!(WRITABLE_VERSIONS as readonly number[]).includes(n))
    throw new UsageError(`--flow-version must be one of ${WRITABLE_VERSIONS.join(", ")} (got ${JSON.stringify(text)})`);
  return n as WritableVersion;
}

/**
 * The default output version: that of the inputs, the highest if they differ, judged by
 * the first flow of each file (files rarely mix versions inside). Stdin counts too: its
 * first flow is peeked at and read again later. A named pipe (`<(zcat cap.mitm.gz)`) is
 * not peeked at: the bytes read would be gone for the real read, which would then wait for
 * a writer that has left. Without a version from the inputs, the first flow's is written.
 */
export async function inputsVersion(paths: string[]): Promise<StoredVersion | null> {
  let best: number | null = null;
  for (const p of paths) {
    if (p !== "-" && !isRegularFile(p)) continue; // a pipe; a missing file is reported later
    const first = async (): Promise<void> => {
      for await (const rec of readFlowRecords(p)) {
        const w = writableFor(rec.storedVersion);
        if (best === null || w > best) best = w;
        break;
      }
    };
    try {
      await (p === "-" ? peekingAtStdin(first) : first());
    } catch {
      // a damaged or missing input is reported when it is really read
    }
  }
  return best;
}
