/**
 * Floats as Python writes them: what the encoder puts in `^` elements, and what `~meta`
 * matches.
 */

/** Python's repr() of a float (shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16). */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const ax = Math.abs(x);
  // Where both write fixed notation, JS and Python pick the same shortest digits.
  if (ax >= 1e-4 && ax < 1e16) return Number.isInteger(x) ? `${x}.0` : String(x);
  // Elsewhere Python writes the exponent with a sign and at least two digits: 1e-05, 1e+16.
  const sign = x < 0 ? "-" : "";
  const exp = ax.toExponential(); // shortest digits that round-trip, e.g. "1.2345e+16"
  const ePos = exp.indexOf("e");
  const digits = exp.slice(0, ePos).replace(".", "");
  const e = Number(exp.slice(ePos + 1));
  const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const ee = Math.abs(e).toString().padStart(2, "0");
  return `${sign}${mant}e${e < 0 ? "-" : "+"}${ee}`;
}
