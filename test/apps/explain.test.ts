import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { I2cBusError } from "../../src/bus/bus.js";
import { explainBusError, SetupError } from "../../src/apps/explain.js";

function explain(code: string, operation: "open" | "transfer"): string {
  const error = new I2cBusError("failed", { code, path: "/dev/i2c-1", operation });
  const explained = explainBusError(error, 1);
  assert.ok(explained instanceof SetupError);
  return explained.message;
}

describe("explainBusError", () => {
  test("ENXIO on a write is no answer", () => {
    assert.match(
      explain("ENXIO", "transfer"),
      /Nothing answered at 0x54 on \/dev\/i2c-1 \(ENXIO\)/,
    );
  });

  test("ENODEV on a write is no answer", () => {
    assert.match(explain("ENODEV", "transfer"), /Nothing answered at 0x54/);
  });

  test("ENXIO on open is a missing adapter", () => {
    const message = explain("ENXIO", "open");
    assert.match(message, /no I2C adapter driver is behind it \(ENXIO on open\)/);
    assert.doesNotMatch(message, /Nothing answered/);
  });

  test("EPERM names --device", () => {
    assert.match(explain("EPERM", "open"), /run with --device \/dev\/i2c-1/);
  });

  test("EBUSY names the kernel driver", () => {
    assert.match(explain("EBUSY", "transfer"), /claimed by a kernel driver/);
  });

  test("other errors pass through", () => {
    const error = new Error("not a bus error");
    assert.equal(explainBusError(error, 1), error);
  });
});
