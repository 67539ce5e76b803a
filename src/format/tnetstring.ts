/**
 * tnetstring codec with mitmproxy's extensions (`;` for text), byte-exact both ways.
 *
 * The decoded tree is self-describing, so re-encoding needs no schema:
 *   `,` bytes  -> Buffer (a view into the input, never a copy)
 *   `;` str    -> string
 *   `#` int    -> number (bigint when outside the safe range)
 *   `^` float  -> number, or PyFloat when the value is integral (1.0, -0.0, 1e+16),
 *                 because a JS number cannot otherwise tell 1.0 from 1
 *   `!` bool, `~` null, `]` list -> array, `}` dict -> Map in *insertion* order
 *
 * mitmproxy writes dicts back to front (last inserted entry first), so the decoder
 * reverses entries into insertion order and the encoder, which also writes back to
 * front, restores the file order. See mitm-format.md §1.
 *
 * One concept per file in tnetstring/; this module is their public face.
 */
export { PyFloat, RawElement, type TDict, type TKey, type TValue } from "./tnetstring/values.js";
export { TnetstringError } from "./tnetstring/tnetstring-error.js";
export { type ElementSpan, spanAt } from "./tnetstring/element.js";
export { internedAscii } from "./tnetstring/interned-ascii.js";
export { decode, decodeRaw, decodeShallowDict, resolve, resolveDeep } from "./tnetstring/decoder.js";
export { type BytePairVisitor, setBytePairs, visitBytePairs } from "./tnetstring/byte-pairs.js";
export { DictIndex } from "./tnetstring/dict-index.js";
export { IndexedDict, type IndexedDictOptions, storedEntry } from "./tnetstring/indexed-dict.js";
export { pythonFloatRepr } from "./tnetstring/python-float.js";
export { TnetEncoder, encode } from "./tnetstring/encoder.js";
