/**
 * What server replay matches on and what it does with requests it has no answer for, with
 * mitmproxy's option names (`server_replay_*`), plus reflow's JSON-path ignores.
 */
import type { JsonPathStep } from "../model/json-path.js";

/** What happens to a request no recorded answer matches (mitmproxy's `server_replay_extra`). */
export type ExtraBehaviour = "forward" | "kill" | 204 | 400 | 404 | 500;

/** The values `--extra` takes, as written. */
export const EXTRA_CHOICES = ["forward", "kill", "204", "400", "404", "500"] as const;

/** Which parts of a request make its key. */
export interface MatchSettings {
  /** query parameters left out of the key (`--ignore-params`) */
  ignoreParams: ReadonlySet<string>;
  /** form and multipart fields left out of the key (`--ignore-payload-params`) */
  ignorePayloadParams: ReadonlySet<string>;
  /** JSON body members left out of the key (`--ignore-json-path`), parsed */
  ignoreJsonPaths: readonly JsonPathStep[][];
  /** the body is not part of the key (`--ignore-content`) */
  ignoreContent: boolean;
  ignoreHost: boolean;
  ignorePort: boolean;
  /** request headers that are part of the key (`--use-headers`) */
  useHeaders: readonly string[];
}

/** Everything server replay was asked for. */
export interface ServerReplaySettings extends MatchSettings {
  /** answer from the last recorded answer again once the others were served (`--reuse`) */
  reuse: boolean;
  extra: ExtraBehaviour;
  /** shift dates and cookie expiry by the age of the recording (`--refresh`, on by default) */
  refresh: boolean;
}

/** The settings when nothing was asked for: the whole request is the key, misses get 404. */
export function defaultReplaySettings(over: Partial<ServerReplaySettings> = {}): ServerReplaySettings {
  return {
    ignoreParams: new Set(),
    ignorePayloadParams: new Set(),
    ignoreJsonPaths: [],
    ignoreContent: false,
    ignoreHost: false,
    ignorePort: false,
    useHeaders: [],
    reuse: false,
    extra: 404,
    refresh: true,
    ...over,
  };
}

/** Reads an `--extra` value; null when it is none of EXTRA_CHOICES. */
export function parseExtra(text: string): ExtraBehaviour | null {
  if (text === "forward" || text === "kill") return text;
  return (EXTRA_CHOICES as readonly string[]).includes(text) ? (Number(text) as ExtraBehaviour) : null;
}
