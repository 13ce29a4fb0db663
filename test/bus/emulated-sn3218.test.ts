import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EmulatedSn3218 } from "../../src/bus/emulated-sn3218.js";
import { createEmulatedPiGlow, EmulatedBus } from "../../src/bus/emulated.js";
import {
  ADDRESS,
  LED_CONTROL_1,
  LED_CONTROL_3,
  NORMAL,
  PWM_OUT,
  RESET,
  SHUTDOWN,
  UPDATE,
} from "../datasheet.js";

const bytes = (...values: number[]) => Uint8Array.from(values);
const zeros = new Array<number>(18).fill(0);

describe("EmulatedSn3218", () => {
  test("powers up dark and in shutdown", () => {
    const chip = new EmulatedSn3218();
    const state = chip.state();
    assert.equal(state.shutdown, true);
    assert.deepEqual(state.pwm, zeros);
    assert.deepEqual(state.enabled, new Array<boolean>(18).fill(false));
    assert.deepEqual(state.visible, zeros);
  });

  test("PWM reaches outputs only on update", () => {
    const chip = new EmulatedSn3218();
    chip.write(SHUTDOWN, bytes(NORMAL));
    chip.write(LED_CONTROL_1, bytes(0x3f, 0x3f, 0x3f));
    chip.write(PWM_OUT(1), bytes(100));
    assert.deepEqual(chip.state().visible, zeros);
    assert.equal(chip.latchCount, 0);
    chip.write(UPDATE, bytes(0x00));
    assert.equal(chip.state().visible[0], 100);
    assert.equal(chip.latchCount, 1);
  });

  test("LED control is buffered like PWM", () => {
    const chip = new EmulatedSn3218();
    chip.write(SHUTDOWN, bytes(NORMAL));
    chip.write(PWM_OUT(18), bytes(7));
    chip.write(LED_CONTROL_3, bytes(0x20));
    chip.write(UPDATE, bytes(0xff));
    assert.equal(chip.state().visible[17], 7);
    chip.write(LED_CONTROL_3, bytes(0x00));
    assert.equal(chip.state().visible[17], 7);
    chip.write(UPDATE, bytes(0xff));
    assert.equal(chip.state().visible[17], 0);
    assert.equal(chip.state().pwm[17], 7);
  });

  test("auto-increment fills consecutive registers", () => {
    const chip = new EmulatedSn3218();
    chip.write(SHUTDOWN, Uint8Array.from([NORMAL, ...Array.from({ length: 18 }, (_, i) => i + 1)]));
    chip.write(LED_CONTROL_1, bytes(0x3f, 0x3f, 0x3f, 0xff));
    assert.deepEqual(
      chip.state().visible,
      Array.from({ length: 18 }, (_, i) => i + 1),
    );
    assert.equal(chip.state().shutdown, false);
  });

  test("one write can run into the update register", () => {
    const chip = new EmulatedSn3218();
    chip.write(SHUTDOWN, bytes(NORMAL));
    const data = [...new Array<number>(18).fill(9), 0x3f, 0x3f, 0x3f, 0xff];
    chip.write(PWM_OUT(1), Uint8Array.from(data));
    assert.deepEqual(chip.state().visible, new Array<number>(18).fill(9));
    assert.equal(chip.latchCount, 1);
  });

  test("reset returns every register to default", () => {
    const chip = new EmulatedSn3218();
    chip.write(SHUTDOWN, bytes(NORMAL));
    chip.write(
      PWM_OUT(1),
      Uint8Array.from([...new Array<number>(18).fill(50), 0x3f, 0x3f, 0x3f, 1]),
    );
    chip.write(PWM_OUT(2), bytes(60));
    chip.write(RESET, bytes(0));
    const state = chip.state();
    assert.equal(state.shutdown, true);
    assert.deepEqual(state.pwm, zeros);
    assert.deepEqual(state.enabled, new Array<boolean>(18).fill(false));
    assert.deepEqual(Array.from(chip.writtenRegisters()), new Array(0x16).fill(0));
  });

  test("shutdown darkens outputs and keeps registers", () => {
    const chip = new EmulatedSn3218();
    chip.write(SHUTDOWN, bytes(NORMAL));
    chip.write(
      PWM_OUT(1),
      Uint8Array.from([...new Array<number>(18).fill(30), 0x3f, 0x3f, 0x3f, 1]),
    );
    chip.write(SHUTDOWN, bytes(0x00));
    assert.deepEqual(chip.state().visible, zeros);
    assert.deepEqual(chip.state().pwm, new Array<number>(18).fill(30));
    chip.write(SHUTDOWN, bytes(0xfe));
    assert.equal(chip.state().shutdown, true, "bit0 alone decides");
    chip.write(SHUTDOWN, bytes(NORMAL));
    assert.deepEqual(chip.state().visible, new Array<number>(18).fill(30));
  });

  test("writes past 0x17 are rejected whole", () => {
    const chip = new EmulatedSn3218();
    assert.throws(() => chip.write(0x18, bytes(1)), /registers 0x00 to 0x17/);
    assert.throws(() => chip.write(UPDATE, bytes(1, 2, 3)), /would reach 0x18/);
    assert.equal(chip.latchCount, 0, "nothing of a rejected write applies");
    assert.throws(() => chip.write(PWM_OUT(1), new Uint8Array(0)), /at least one data byte/);
  });
});

describe("EmulatedBus", () => {
  test("records every transaction in order", async () => {
    const { bus } = createEmulatedPiGlow();
    await bus.writeI2cBlock(ADDRESS, PWM_OUT(1), bytes(1, 2));
    await bus.writeI2cBlock(ADDRESS, UPDATE, bytes(0xff));
    assert.deepEqual(bus.transactions, [
      { address: ADDRESS, register: PWM_OUT(1), data: [1, 2] },
      { address: ADDRESS, register: UPDATE, data: [0xff] },
    ]);
  });

  test("only 0x54 acknowledges", async () => {
    const { bus } = createEmulatedPiGlow();
    await assert.rejects(bus.writeI2cBlock(0x55, 0, bytes(1)), {
      name: "I2cBusError",
      code: "EREMOTEIO",
      message: /No device acknowledged address 0x55/,
    });
    assert.deepEqual(bus.transactions, [
      { address: 0x55, register: 0, data: [1], error: "EREMOTEIO" },
    ]);
  });

  test("a write the chip rejects fails like a NACK", async () => {
    const { bus } = createEmulatedPiGlow();
    await assert.rejects(bus.writeI2cBlock(ADDRESS, 0x18, bytes(1)), {
      code: "EREMOTEIO",
      message: /rejected the write/,
    });
  });

  test("more than 32 bytes are rejected before sending", async () => {
    const { bus } = createEmulatedPiGlow();
    await assert.rejects(bus.writeI2cBlock(ADDRESS, 0, new Uint8Array(33)), {
      name: "RangeError",
      message: /data.length must be an integer from 1 to 32, got 33/,
    });
    await assert.rejects(bus.writeI2cBlock(ADDRESS, 0, new Uint8Array(0)), RangeError);
    await assert.rejects(bus.writeI2cBlock(0x80, 0, bytes(1)), /address must be an integer/);
    await assert.rejects(bus.writeI2cBlock(ADDRESS, 0x100, bytes(1)), RangeError);
    assert.deepEqual(
      bus.transactions.filter((t) => t.error === undefined),
      [],
    );
  });

  test("writes after close fail with EBADF", async () => {
    const { bus } = createEmulatedPiGlow();
    await bus.close();
    await assert.rejects(bus.writeI2cBlock(ADDRESS, SHUTDOWN, bytes(1)), { code: "EBADF" });
    await bus.close();
  });

  test("injected faults fail the next writes only", async () => {
    const { bus, chip } = createEmulatedPiGlow();
    bus.failNext(2, "EIO");
    await assert.rejects(bus.writeI2cBlock(ADDRESS, SHUTDOWN, bytes(1)), { code: "EIO" });
    await assert.rejects(bus.writeI2cBlock(ADDRESS, SHUTDOWN, bytes(1)), { code: "EIO" });
    await bus.writeI2cBlock(ADDRESS, SHUTDOWN, bytes(1));
    assert.equal(chip.state().shutdown, false);
  });

  test("an unplugged device does not acknowledge", async () => {
    const bus = new EmulatedBus();
    bus.attach(ADDRESS, new EmulatedSn3218());
    bus.unplug(ADDRESS);
    await assert.rejects(bus.writeI2cBlock(ADDRESS, SHUTDOWN, bytes(1)), { code: "EREMOTEIO" });
    bus.replug(ADDRESS);
    await bus.writeI2cBlock(ADDRESS, SHUTDOWN, bytes(1));
  });
});
