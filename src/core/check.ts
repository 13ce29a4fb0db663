/**
 * Argument checks shared by every layer, so that each helper rejects bad input with the same
 * error types and the same message shape: the argument, the value, the valid range and the fix.
 */

/** Formats a value for an error message so that strings, NaN and objects stay recognisable. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number" || typeof value === "boolean" || value === undefined) {
    return String(value);
  }
  if (value === null) {
    return "null";
  }
  if (Array.isArray(value)) {
    return `an array of length ${value.length}`;
  }
  return `a value of type ${typeof value}`;
}

/**
 * Checks that `value` is an integer in `[min, max]` and returns it.
 *
 * @throws TypeError when `value` is not a number (booleans included).
 * @throws RangeError when it is NaN, not an integer, or outside the range.
 */
export function checkInteger(
  name: string,
  value: unknown,
  min: number,
  max: number,
  hint = "",
): number {
  const suffix = hint === "" ? "" : ` ${hint}`;
  if (typeof value !== "number") {
    throw new TypeError(
      `${name} must be an integer from ${min} to ${max}, got ${describeValue(value)}.${suffix}`,
    );
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${name} must be an integer from ${min} to ${max}, got ${describeValue(value)}.${suffix}`,
    );
  }
  return value;
}

/**
 * Checks that `value` is a finite number in `[min, max]` and returns it.
 *
 * @throws TypeError when `value` is not a number (booleans included).
 * @throws RangeError when it is NaN, infinite or outside the range.
 */
export function checkNumber(
  name: string,
  value: unknown,
  min: number,
  max: number,
  hint = "",
): number {
  const suffix = hint === "" ? "" : ` ${hint}`;
  if (typeof value !== "number") {
    throw new TypeError(
      `${name} must be a number from ${min} to ${max}, got ${describeValue(value)}.${suffix}`,
    );
  }
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(
      `${name} must be a number from ${min} to ${max}, got ${describeValue(value)}.${suffix}`,
    );
  }
  return value;
}
