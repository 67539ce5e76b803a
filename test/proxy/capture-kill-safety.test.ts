/**
 * A hard kill never loses an exchange the client already has: the flow is on disk before the
 * client can have the whole response (small responses are recorded before they are sent,
 * large ones before their last byte).
 */
import { readFileSync } from "node:fs";
import { connect as http2Connect } from "node:http2";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flowDicts } from "../helpers.js";
import { type Listening, type RunningCapture, httpOrigin, killStrayCaptures, startCapture, tempDir } from "./capture-harness.js";
import type { Server } from "node:http";
import type { TDict } from "../../src/format/tnetstring.js";

let origin: Listening<Server>;
let cap: RunningCapture;
/** the same over HTTP/2: reverse mode, the client speaking h2 with prior knowledge */
let h2cap: RunningCapture;
const out = join(tempDir(), "kill-safe.mitm");
const h2out = join(tempDir(), "kill-safe-h2.mitm");

beforeAll(async () => {
  origin = await httpOrigin((req, res) => {
    const size = Number(new URL(req.url!, "http://x").searchParams.get("size"));
    res.end(Buffer.alloc(size, "r"));
  });
  cap = await startCapture(["-w", out, "-q"]);
  h2cap = await startCapture(["-m", `reverse:http://127.0.0.1:${origin.port}`, "-w", h2out, "-q"]);
});

afterAll(async () => {
  await cap?.stop();
  await h2cap?.stop();
  await origin?.close();
  killStrayCaptures();
});

/**
 * The request paths of the whole flows a capture file holds. Another stream's flow may be
 * half written at its end at this moment: it is not there yet, and not damage.
 */
const pathsIn = (file: string): string[] =>
  flowDicts(readFileSync(file), { beingWritten: true }).map((d) => (d.get("request") as TDict).get("path")!.toString());

/** Runs `look` and settles with what it gives or throws (a listener's throw would otherwise be lost). */
const settle = <T>(resolve: (v: T) => void, reject: (e: unknown) => void, look: () => T): void => {
  try {
    resolve(look());
  } catch (e) {
    reject(e);
  }
};

/** Fetches each of `paths` over one HTTP/2 connection, all at once; for each, the moment its response is whole, whether the file holds its flow. */
async function fetchH2ThenReadFile(paths: string[]): Promise<string[]> {
  const session = http2Connect(`http://127.0.0.1:${h2cap.port}`);
  try {
    return await Promise.all(
      paths.map(
        (path) =>
          new Promise<string>((resolve, reject) => {
            const req = session.request({ ":path": path });
            req.on("error", reject);
            req.resume();
            req.on("end", () => settle(resolve, reject, () => (pathsIn(h2out).includes(path) ? "on disk" : `${path} not on disk yet`)));
            req.end();
          }),
      ),
    );
  } finally {
    session.close();
  }
}

/** Fetches `path` through the proxy and, the moment the whole response is in, the paths the file holds. */
function fetchThenReadFile(path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = connect(cap.port, "127.0.0.1", () =>
      s.write(`GET http://127.0.0.1:${origin.port}${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`),
    );
    s.on("data", () => {});
    s.once("error", reject);
    // the response ends with the connection: read the file before anything else happens
    s.once("end", () => {
      settle(resolve, reject, () => pathsIn(out));
      s.destroy();
    });
  });
}

describe("a capture's file, the moment a client has a whole response", () => {
  for (const size of [10, 1024, 5 << 20]) {
    it(`already holds its flow (${size} bytes)`, async () => {
      for (let i = 0; i < 5; i++) {
        const path = `/r/${size}/${i}?size=${size}`;
        expect(await fetchThenReadFile(path), path).toContain(path);
      }
    });
  }
});

describe("a capture's file, the moment an HTTP/2 client has a whole response", () => {
  for (const size of [0, 10, 1024, 5 << 20]) {
    it(`already holds its flow (${size} bytes, 5 streams at once)`, async () => {
      const paths = Array.from({ length: 5 }, (_, i) => `/h2/${size}/${i}?size=${size}`);
      expect(await fetchH2ThenReadFile(paths)).toEqual(paths.map(() => "on disk"));
    });
  }
});
