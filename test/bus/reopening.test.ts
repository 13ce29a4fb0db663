import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createEmulatedPiGlow } from "../../src/bus/emulated.js";
import { I2cBusError, type I2cBus } from "../../src/bus/bus.js";
import { ReopeningBus } from "../../src/bus/reopening.js";
import { ADDRESS, SHUTDOWN } from "../datasheet.js";

const one = Uint8Array.of(1);

describe("ReopeningBus", () => {
  test("reopens after a failed transfer", async () => {
    const buses = [createEmulatedPiGlow(), createEmulatedPiGlow()];
    const opened: I2cBus[] = [];
    const open = () => {
      const next = buses[opened.length]?.bus;
      assert.ok(next !== undefined);
      opened.push(next);
      return Promise.resolve(next);
    };
    const bus = new ReopeningBus("emulated", open);
    await bus.writeI2cBlock(ADDRESS, SHUTDOWN, one);
    assert.equal(bus.reopenCount, 1);
    buses[0]?.bus.failNext(1, "ENODEV");
    await assert.rejects(bus.writeI2cBlock(ADDRESS, SHUTDOWN, one), { code: "ENODEV" });
    await bus.writeI2cBlock(ADDRESS, SHUTDOWN, one);
    assert.equal(bus.reopenCount, 2);
    assert.equal(buses[1]?.chip.state().shutdown, false, "the write went to the new bus");
  });

  test("an open that fails is one failed attempt", async () => {
    let attempts = 0;
    const piglow = createEmulatedPiGlow();
    const bus = new ReopeningBus("/dev/i2c-0", () => {
      attempts += 1;
      return attempts < 3
        ? Promise.reject(new I2cBusError("gone", { code: "ENOENT", path: "/dev/i2c-0" }))
        : Promise.resolve(piglow.bus);
    });
    await assert.rejects(bus.writeQuick(ADDRESS), { code: "ENOENT" });
    await assert.rejects(bus.writeQuick(ADDRESS), { code: "ENOENT" });
    await bus.writeQuick(ADDRESS);
    assert.deepEqual(piglow.bus.quickWrites, [{ address: ADDRESS }]);
  });

  test("bad arguments do not reopen", async () => {
    const piglow = createEmulatedPiGlow();
    const bus = new ReopeningBus("emulated", () => Promise.resolve(piglow.bus), piglow.bus);
    await assert.rejects(bus.writeI2cBlock(ADDRESS, 0, new Uint8Array(40)), RangeError);
    await bus.writeI2cBlock(ADDRESS, SHUTDOWN, one);
    assert.equal(bus.reopenCount, 0);
  });

  test("writes after close fail with EBADF", async () => {
    const piglow = createEmulatedPiGlow();
    const bus = new ReopeningBus("emulated", () => Promise.resolve(piglow.bus), piglow.bus);
    await bus.close();
    await assert.rejects(bus.writeQuick(ADDRESS), { code: "EBADF" });
  });
});
