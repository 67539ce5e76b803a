/**
 * A flow read from a file of a format other than mitm (msgpack, HAR, JSON Lines): its
 * version-21 state, made when first asked for, and where it stood in its file, so that
 * damage found later is named like damage in a mitm file.
 */
import { FlowReadError, FlowStateError } from "../errors.js";
import { type FlowState, invalidFlowDetail, resolveEntry } from "./flow-record.js";
import { NEWEST_VERSION } from "./migrations/index.js";
import { PackedDict } from "./packed-dict.js";
import { type TDict, type TValue, TnetstringError } from "./tnetstring.js";

/** What every reader hands out per flow: a FlowRecord (mitm) or a LoadedFlow (the others). */
export interface ReadFlow extends FlowState {
  /** the input's display name */
  readonly file: string;
  /** where the flow starts in its file (bytes) and its 0-based number there */
  readonly raw: { readonly offset: number; readonly index: number };
  /** the format version as stored (21 for every format but mitm) */
  readonly storedVersion: number | number[] | null;
  /** the flow type, when known without parsing the flow */
  readonly type: string | null;
  /** true once the state was read or changed (an untouched flow may be copied as stored) */
  readonly touched: boolean;
  /** `e` as the FlowReadError naming this flow's file, offset and number */
  error(e: unknown): Error;
}

/** A version-21 flow made from a record of another format; `make` runs on first use. */
export class LoadedFlow implements ReadFlow {
  private dict: TDict | undefined;
  readonly storedVersion = NEWEST_VERSION;

  /**
   * @param make builds the state (on first use)
   * @param type the flow type, when known without making the state
   * @param packed the msgpack record (length prefix included) the state is made from, so an untouched flow is written as it was read
   * @param packedVersion the reflow msgpack version of `packed`
   */
  constructor(
    private make: (() => TDict) | undefined,
    readonly file: string,
    readonly raw: { readonly offset: number; readonly index: number },
    readonly type: string | null = null,
    readonly packed?: Buffer,
    readonly packedVersion?: number,
  ) {}

  get touched(): boolean {
    // a dict read from a msgpack record knows whether anything in it can have changed
    return this.dict !== undefined && !(this.dict instanceof PackedDict && this.dict.untouched());
  }

  get version(): number {
    return NEWEST_VERSION;
  }

  top(): TDict {
    if (this.dict) return this.dict;
    try {
      const dict = this.make!();
      this.make = undefined; // what it was made from (a parsed HAR entry, a JSON line) may go
      if (dict.get("version") !== NEWEST_VERSION)
        throw new FlowStateError("E_FLOW_SCHEMA", `not a version-${NEWEST_VERSION} flow state`);
      this.dict = dict;
    } catch (e) {
      throw this.error(e);
    }
    return this.dict;
  }

  entry(key: string): TValue {
    return resolveEntry(this.top(), key);
  }

  promote(): TDict {
    return this.top();
  }

  error(e: unknown): Error {
    if (e instanceof FlowReadError) return e;
    const { offset, index } = this.raw;
    if (e instanceof FlowStateError) return new FlowReadError(e.code, this.file, offset, index, e.message);
    if (e instanceof TnetstringError || e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError)
      return new FlowReadError("E_FLOW_SCHEMA", this.file, offset, index, invalidFlowDetail(e));
    return e instanceof Error ? e : new Error(String(e));
  }
}
