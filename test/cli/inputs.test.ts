import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expandInputs } from "../../src/cli/inputs.js";
import { InputError } from "../../src/errors.js";
import { fixtures } from "../helpers.js";

describe("IN arguments: paths, globs and stdin", () => {
  let dir: string;
  const cwd = process.cwd();
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "reflow-inputs-"));
    // a browser's "capture[1]" download beside files its brackets would match as a glob
    for (const name of ["cap[1].mitm", "cap1.mitm", "cap2.mitm"]) copyFileSync(join(fixtures, "sample.mitm"), join(dir, name));
    process.chdir(dir);
  });
  afterAll(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  it("takes a path that exists as it is, glob characters and all", async () => {
    expect(await expandInputs(["cap[1].mitm"])).toEqual(["cap[1].mitm"]);
  });

  it("expands a glob that names no file as it is, sorted", async () => {
    expect(await expandInputs(["cap[12].mitm"])).toEqual(["cap1.mitm", "cap2.mitm"]);
    expect(await expandInputs(["cap?.mitm", "-"])).toEqual(["cap1.mitm", "cap2.mitm", "-"]);
  });

  it("refuses a glob that matches nothing, and stdin twice", async () => {
    await expect(expandInputs(["nothing*.mitm"])).rejects.toMatchObject({ code: "E_INPUT_MISSING" });
    await expect(expandInputs(["-", "-"])).rejects.toBeInstanceOf(InputError);
  });
});
