import { describe, expect, it } from "vitest";
import { pythonFloatRepr } from "../../../src/format/tnetstring.js";

describe("Python float repr", () => {
  const cases: [number, string][] = [
    [1, "1.0"],
    [100, "100.0"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [1234567890123456, "1234567890123456.0"],
    [1e16, "1e+16"],
    [1795234473.6971226, "1795234473.6971226"],
    [1.5e300, "1.5e+300"],
    [5e-324, "5e-324"],
    [-2.5, "-2.5"],
    [Infinity, "inf"],
    [-Infinity, "-inf"],
    [NaN, "nan"],
    [0, "0.0"],
    [-0, "-0.0"],
    [0.1 + 0.2, "0.30000000000000004"],
    [123456789.123, "123456789.123"],
    // at the edges of fixed notation (values from Python 3's repr)
    [9.999999999999999e-5, "9.999999999999999e-05"],
    [9999999999999998, "9999999999999998.0"],
    [2 ** 53, "9007199254740992.0"],
    [-2.5e-4, "-0.00025"],
    [1e22, "1e+22"],
    [1.5e-7, "1.5e-07"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [-123456, "-123456.0"],
  ];
  for (const [x, repr] of cases) it(`${repr}`, () => expect(pythonFloatRepr(x)).toBe(repr));
});
