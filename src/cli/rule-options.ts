/** The rewrite-rule options `run` and `capture` share, kept in command-line order across options. */
import type { Command } from "commander";
import type { StageHooks } from "../pipeline/pipeline.js";
import { type RuleArgument, type RuleOption, RuleSet } from "../rules/index.js";

const RULE_HELP: [RuleOption, string, string][] = [
  ["modify-headers", "<'[/FILTER]/NAME/[@]VALUE'>", "set header NAME to VALUE (empty: remove; @FILE: read it), as mitmproxy's modify_headers"],
  ["modify-body", "<'[/FILTER]/REGEX/[@]REPLACEMENT'>", "replace REGEX in the decoded body, as mitmproxy's modify_body"],
  ["map-remote", "<'|FILTER|URL-REGEX|REPLACEMENT'>", "rewrite matching request URLs, as mitmproxy's map_remote"],
  ["map-local", "<'|FILTER|URL-REGEX|PATH'>", "answer matching requests from a local file or directory, as mitmproxy's map_local"],
  ["redact", "<NAME>", "replace values of header, query parameter, form field or cookie NAME, or JSON path $.a.b, with REDACTED"],
];

/**
 * Adds the rule options to `cmd` (each repeatable; any separator character). Returns the
 * rules given, in the order they stood on the command line, whichever options they came by.
 */
export function addRuleOptions(cmd: Command): () => RuleArgument[] {
  const given: RuleArgument[] = [];
  for (const [option, arg, help] of RULE_HELP)
    cmd.option(`--${option} ${arg}`, `${help} (repeatable; rules run in command-line order, before scripts)`, (text: string) => {
      given.push({ option, text });
      return given.length;
    });
  return () => given;
}

/** The pipeline stage of the rules given (none when there are none); a malformed rule is a usage error. */
export function ruleStages(
  rules: readonly { option: string; text: string }[] | undefined,
  caseSensitive: boolean,
): { name: string; hooks: StageHooks }[] {
  if (!rules?.length) return [];
  // the options were named by addRuleOptions (a worker gets them back as plain data)
  return [{ name: "rewrite rules", hooks: new RuleSet(rules as RuleArgument[], { caseSensitive }).hooks() as StageHooks }];
}
