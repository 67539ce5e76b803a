/**
 * The Map under a dict read lazily from bytes (IndexedDict, PackedDict): what needs the dict
 * whole (iterating it, its size, delete, clear) fills the Map first.
 */
import type { TKey, TValue } from "./values.js";

/** A Map that its subclass fills from the bytes it was read from only when something needs it whole. */
export abstract class FilledOnDemand extends Map<TKey, TValue> {
  /** Makes the Map whole (does nothing once it is). */
  protected abstract fill(): void;

  override delete(key: TKey): boolean {
    this.fill();
    return super.delete(key);
  }

  override clear(): void {
    this.fill();
    super.clear();
  }

  override get size(): number {
    this.fill();
    return super.size;
  }

  override forEach(fn: (value: TValue, key: TKey, map: Map<TKey, TValue>) => void, thisArg?: unknown): void {
    this.fill();
    super.forEach(fn, thisArg);
  }

  override entries(): MapIterator<[TKey, TValue]> {
    this.fill();
    return super.entries();
  }

  override keys(): MapIterator<TKey> {
    this.fill();
    return super.keys();
  }

  override values(): MapIterator<TValue> {
    this.fill();
    return super.values();
  }

  override [Symbol.iterator](): MapIterator<[TKey, TValue]> {
    this.fill();
    return super.entries();
  }
}
