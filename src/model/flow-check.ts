/**
 * Reading a flow whole: every field of the model, as a script could read it, so that damage
 * anywhere inside the flow shows now rather than whenever something first touches it.
 * Used by `reflow check` and `--strict`; the lazy default reads only what is asked for.
 */
import { ContentEncodingError } from "./encoding.js";
import type { Flow } from "./flow.js";

/** Where a flow's damage is: the model field that could not be read, and why. */
export interface FlowDamage {
  /** the field's path in the model, e.g. `request.method`, `websocket.messages[2].content` */
  field: string;
  error: unknown;
}

/**
 * Fields that may fail on sound flows, by design: a body's text in a charset it is not in,
 * the text of a binary WebSocket frame. Their bytes are read through `content`.
 */
const NOT_DAMAGE = new Set(["text"]);

/** Getters of `obj`'s class chain, by name (the model's fields). */
function getters(obj: object): [string, () => unknown][] {
  const out: [string, () => unknown][] = [];
  const seen = new Set<string>();
  for (let proto = Object.getPrototypeOf(obj); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const [name, desc] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
      if (!desc.get || seen.has(name) || NOT_DAMAGE.has(name)) continue;
      seen.add(name);
      out.push([name, () => desc.get!.call(obj)]);
    }
  }
  return out;
}

/** True for the model's own objects (walked into); plain values, bytes and collections are leaves. */
function isModelObject(v: unknown): v is object {
  if (typeof v !== "object" || v === null) return false;
  if (ArrayBuffer.isView(v) || v instanceof Map || v instanceof Set || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto !== null && proto !== Object.prototype;
}

/** True when `obj` is a view over a state dict holding `name` (in snake_case) itself. */
function isStoredField(obj: object, name: string): boolean {
  const state = (obj as { state?: unknown }).state;
  return state instanceof Map && state.has(name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
}

/**
 * Reads every field of `flow` (bodies decoded by their Content-Encoding); returns the first
 * that fails, or null when the flow reads whole.
 */
export function findFlowDamage(flow: Flow): FlowDamage | null {
  const visited = new Set<object>();
  const walk = (obj: object, path: string): FlowDamage | null => {
    if (visited.has(obj)) return null;
    visited.add(obj);
    // Derived fields fail with the stored one they read (`url` with `method`): of an
    // object's failing fields, one stored under its own name in the state is named.
    let failed: FlowDamage | null = null;
    let failedIsStored = false;
    const values: [string, unknown][] = [];
    for (const [name, read] of getters(obj)) {
      const field = path ? `${path}.${name}` : name;
      try {
        values.push([field, read()]);
      } catch (error) {
        const stored = isStoredField(obj, name);
        if (!failed || (stored && !failedIsStored)) [failed, failedIsStored] = [{ field, error }, stored];
      }
    }
    if (failed) return failed;
    for (const [field, value] of values) {
      const found = walkValue(value, field);
      if (found) return found;
    }
    return null;
  };
  const walkValue = (value: unknown, field: string): FlowDamage | null => {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = walkValue(value[i], `${field}[${i}]`);
        if (found) return found;
      }
      return null;
    }
    return isModelObject(value) ? walk(value, field) : null;
  };
  return walk(flow, "");
}

/** True when the damage is a body that its Content-Encoding cannot decode. */
export function isBodyEncodingDamage(d: FlowDamage): boolean {
  return d.error instanceof ContentEncodingError;
}
