/** `reflow export`: flows as commands (curl, httpie) or bytes (raw HTTP, a HAR entry) to re-run by hand. */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type Command, Option } from "commander";
import { ExitCode, FlowReadError, OutputError } from "../errors.js";
import { EXPORT_FORMATS, type ExportFormat, exportFlow, NothingToExport } from "../export/index.js";
import { type Filter, parseFilter } from "../filter/index.js";
import { MigrationContext } from "../format/migrations/index.js";
import { flowReadError, readFlows } from "../io/flow-source.js";
import { HarEntryMaker } from "../io/formats/har-writer.js";
import type { HTTPFlow } from "../model/index.js";
import { splitInputsAndFilter } from "./filter-words.js";
import { expandInputs } from "./inputs.js";
import { errorLine, warn } from "./report.js";
import { terminalSafeText } from "../io/terminal-text.js";
import { makeOutputFolder } from "../io/output-folder.js";
import { failureMessage } from "../io/output-file.js";

interface ExportOptions {
  format: ExportFormat;
  bodyDir: string;
  caseSensitive?: boolean;
}

/**
 * A flow's id as a file name in --body-dir: the id comes from the file, so every byte but
 * letters, digits, `.`, `_` and `-` is percent-encoded: no `/` or `..` can put the body
 * elsewhere (a UUID is unchanged).
 */
function bodyFileName(id: string): string {
  let name = "";
  for (const b of Buffer.from(id, "utf8")) name += /[\w.-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  return name;
}

export function registerExport(program: Command): void {
  program
    .command("export")
    .summary("print flows as curl or httpie commands, raw HTTP, or HAR entries")
    .description(
      "Prints every (matching) HTTP flow of the inputs in FORMAT, as mitmproxy's export addon does: curl and httpie " +
        "commands quoted for the shell (a binary body is written to a file in --body-dir that the command reads), " +
        "raw, raw_request and raw_response HTTP/1 bytes with the body decoded, or har-entry (one HAR 1.2 entry per " +
        "line, as convert writes them to a .har). Other flows, and flows without what the format needs, are left out with a warning.",
    )
    .argument("<IN...>", "flow files, quoted globs, or - for stdin; then an optional filter expression")
    .addOption(new Option("-f, --format <FORMAT>", "what to print").choices(EXPORT_FORMATS as unknown as string[]).default("curl"))
    .option("--body-dir <DIR>", "where binary request bodies go, one FLOW-ID.body file each", ".")
    .option("--case-sensitive", "match filter regexes case-sensitively (default: ignore case)")
    .addHelpText(
      "after",
      `
Examples:
  reflow export capture.mitm '~u /api/login'                  # a curl command per matching flow
  reflow export capture.mitm --format httpie '~m POST'
  reflow export capture.mitm --format raw_request '~u /upload' > request.http
  reflow export 'caps/*.mitm' --format har-entry | jq .request.url`,
    )
    .action(async (args: string[], opts: ExportOptions) => {
      process.exitCode = await exportFlows(args, opts);
    });
}

/** Bytes from flows, made safe for a terminal (raw formats carry any byte). */
function forTerminal(bytes: Buffer): Buffer {
  if (!process.stdout.isTTY) return bytes;
  const text = bytes.toString("latin1").replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return Buffer.from(text, "latin1");
}

async function exportFlows(args: string[], opts: ExportOptions): Promise<number> {
  const { inputs, filterWords } = splitInputsAndFilter(args);
  const filter: Filter | null = filterWords.length ? parseFilter(filterWords.join(" "), { caseSensitive: opts.caseSensitive }) : null;
  const paths = await expandInputs(inputs);
  const migrations = new MigrationContext();
  const bodyPath = (flow: HTTPFlow): string => join(opts.bodyDir, `${bodyFileName(flow.id)}.body`);
  const raw = opts.format.startsWith("raw");
  const har = new HarEntryMaker();
  let damaged = false;
  let first = true;
  for (const path of paths) {
    try {
      for await (const flow of readFlows(path, migrations)) {
        let exported;
        try {
          if (filter && !filter.match(flow)) continue;
          if (flow.type !== "http") {
            warn(`flow ${flow.id} (${flow.type}) left out: only HTTP flows export`);
            continue;
          }
          exported = exportFlow(flow as HTTPFlow, opts.format, bodyPath, har);
        } catch (e) {
          if (e instanceof NothingToExport) {
            warn(`flow ${flow.id} left out: ${e.message}`);
            continue;
          }
          throw flowReadError(flow, e);
        }
        if (exported.bodyFile) {
          makeOutputFolder(dirname(exported.bodyFile.path));
          try {
            writeFileSync(exported.bodyFile.path, exported.bodyFile.bytes);
          } catch (e) {
            throw new OutputError(exported.bodyFile.path, failureMessage(e));
          }
        }
        // raw messages are told apart by an empty line, as mitmproxy separates a request from its response
        if (raw && !first) process.stdout.write("\r\n\r\n");
        process.stdout.write(raw ? forTerminal(exported.output) : process.stdout.isTTY ? terminalSafeText(exported.output.toString()) : exported.output);
        first = false;
      }
    } catch (e) {
      if (!(e instanceof FlowReadError)) throw e;
      errorLine(e.message);
      damaged = true;
    }
  }
  return damaged ? ExitCode.CORRUPT_INPUT : ExitCode.OK;
}
