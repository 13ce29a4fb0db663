import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createEmulatedPiGlow } from "../../src/bus/emulated.js";
import { Sn3218 } from "../../src/chip/sn3218.js";
import {
  ADDRESS,
  LED_CONTROL_1,
  NORMAL,
  PWM_OUT,
  RESET,
  SHUTDOWN,
  SOFTWARE_SHUTDOWN,
  UPDATE,
  type Wire,
} from "../datasheet.js";

/** Creates a driver on an emulated PiGlow; `drain()` returns the transactions so far and clears the log. */
function setup() {
  const { bus, chip } = createEmulatedPiGlow();
  const driver = new Sn3218(bus);
  const drain = () => {
    const wire: Wire[] = bus.transactions.map((t) => [t.address, t.register, [...t.data]]);
    bus.transactions.length = 0;
    return wire;
  };
  return { bus, chip, driver, drain };
}

/** Runs the init sequence the apps use: reset, all LEDs enabled, normal operation. */
async function initialise(driver: Sn3218): Promise<void> {
  await driver.reset();
  driver.setLedControl([0x3f, 0x3f, 0x3f]);
  driver.setEnabled(true);
  await driver.update();
}

const ramp = Array.from({ length: 18 }, (_, channel) => channel * 10 + 5);

describe("Sn3218 transactions", () => {
  test("reset writes the Reset Register", async () => {
    const { driver, drain } = setup();
    await driver.reset();
    assert.deepEqual(drain(), [[ADDRESS, RESET, [0xff]]]);
  });

  test("init enables every LED, latches, then leaves shutdown", async () => {
    const { driver, drain, chip } = setup();
    await initialise(driver);
    assert.deepEqual(drain(), [
      [ADDRESS, RESET, [0xff]],
      [ADDRESS, LED_CONTROL_1, [0x3f, 0x3f, 0x3f, 0xff]],
      [ADDRESS, SHUTDOWN, [NORMAL]],
    ]);
    assert.equal(chip.state().shutdown, false);
    assert.deepEqual(chip.state().enabled, new Array<boolean>(18).fill(true));
  });

  test("a frame is one PWM run, then the latch", async () => {
    const { driver, drain, chip } = setup();
    await initialise(driver);
    drain();
    driver.setAllPwm(ramp);
    await driver.update();
    assert.deepEqual(drain(), [
      [ADDRESS, PWM_OUT(1), ramp],
      [ADDRESS, UPDATE, [0xff]],
    ]);
    assert.deepEqual(chip.state().visible, ramp);
  });

  test("an unchanged frame sends nothing", async () => {
    const { driver, drain } = setup();
    await initialise(driver);
    driver.setAllPwm(ramp);
    await driver.update();
    drain();
    driver.setAllPwm(ramp);
    const result = await driver.update();
    assert.deepEqual(drain(), []);
    assert.deepEqual(result.writes, []);
    assert.equal(driver.settled, true);
  });

  test("one changed LED costs its register and the latch", async () => {
    const { driver, drain, chip } = setup();
    await initialise(driver);
    driver.setAllPwm(ramp);
    await driver.update();
    drain();
    driver.setPwm(5, 200);
    await driver.update();
    assert.deepEqual(drain(), [
      [ADDRESS, PWM_OUT(6), [200]],
      [ADDRESS, UPDATE, [0xff]],
    ]);
    assert.equal(chip.state().visible[5], 200);
  });

  test("OUT18 and the latch stay apart across three control registers", async () => {
    const { driver, drain } = setup();
    await initialise(driver);
    drain();
    driver.setPwm(17, 9);
    await driver.update();
    assert.deepEqual(drain(), [
      [ADDRESS, PWM_OUT(18), [9]],
      [ADDRESS, UPDATE, [0xff]],
    ]);
  });

  test("a gap of two registers is filled, a gap of three splits", async () => {
    const { driver, drain } = setup();
    await initialise(driver);
    drain();
    driver.setPwm(0, 1);
    driver.setPwm(3, 4);
    driver.setPwm(7, 8);
    await driver.update();
    assert.deepEqual(drain(), [
      [ADDRESS, PWM_OUT(1), [1, 0, 0, 4]],
      [ADDRESS, PWM_OUT(8), [8]],
      [ADDRESS, UPDATE, [0xff]],
    ]);
  });

  test("a change near the end shares the latch write", async () => {
    const { driver, drain } = setup();
    await driver.reset();
    drain();
    driver.setLedControl([0x3f, 0x3f, 0x01]);
    await driver.update();
    assert.deepEqual(drain(), [[ADDRESS, LED_CONTROL_1, [0x3f, 0x3f, 0x01, 0xff]]]);
  });

  test("clear enters shutdown first, then zeroes PWM", async () => {
    const { driver, drain, chip } = setup();
    await initialise(driver);
    driver.setAllPwm(ramp);
    await driver.update();
    drain();
    driver.setAllPwm(new Array<number>(18).fill(0));
    driver.setEnabled(false);
    await driver.update();
    assert.deepEqual(drain(), [
      [ADDRESS, SHUTDOWN, [SOFTWARE_SHUTDOWN]],
      [ADDRESS, PWM_OUT(1), new Array<number>(18).fill(0)],
      [ADDRESS, UPDATE, [0xff]],
    ]);
    assert.equal(chip.state().shutdown, true);
    assert.deepEqual(chip.state().pwm, new Array<number>(18).fill(0));
  });

  test("a fresh driver writes only the staged registers", async () => {
    const { driver, drain } = setup();
    driver.setEnabled(true);
    driver.setLedControl([0x3f, 0x3f, 0x3f]);
    driver.setPwm(2, 77);
    await driver.update();
    assert.deepEqual(drain(), [
      [ADDRESS, PWM_OUT(3), [77]],
      [ADDRESS, LED_CONTROL_1, [0x3f, 0x3f, 0x3f, 0xff]],
      [ADDRESS, SHUTDOWN, [NORMAL]],
    ]);
  });

  test("a failed write makes the next update resend everything", async () => {
    const { bus, driver, drain, chip } = setup();
    await initialise(driver);
    driver.setAllPwm(ramp);
    await driver.update();
    drain();
    bus.failNext(1, "EIO");
    driver.setPwm(0, 99);
    await assert.rejects(driver.update(), { code: "EIO" });
    drain();
    chip.write(RESET, Uint8Array.of(0));
    await driver.update();
    const expected = [...ramp];
    expected[0] = 99;
    assert.deepEqual(drain(), [
      [ADDRESS, PWM_OUT(1), [...expected, 0x3f, 0x3f, 0x3f, 0xff]],
      [ADDRESS, SHUTDOWN, [NORMAL]],
    ]);
    assert.deepEqual(chip.state().visible, expected);
  });

  test("the shadow changes only after the bus acknowledged", async () => {
    const { bus, driver } = setup();
    await initialise(driver);
    bus.failNext(1, "EREMOTEIO");
    driver.setPwm(4, 50);
    await assert.rejects(driver.update());
    assert.deepEqual(driver.latchedPwm(), new Array<undefined>(18).fill(undefined));
  });

  test("setters reject bad channels and values", () => {
    const { driver } = setup();
    assert.throws(() => driver.setPwm(18, 0), RangeError);
    assert.throws(() => driver.setPwm(-1, 0), RangeError);
    assert.throws(() => driver.setPwm(0, 256), RangeError);
    assert.throws(() => driver.setPwm(0, 1.5), RangeError);
    assert.throws(() => driver.setPwm(0, Number.NaN), RangeError);
    assert.throws(() => driver.setPwm(0, true as unknown as number), TypeError);
    assert.throws(() => driver.setAllPwm([1, 2, 3]), RangeError);
    assert.throws(
      () => driver.setLedControl([0x40, 0, 0]),
      /ledControl\[0\] must be an integer from 0 to 63, got 64/,
    );
  });
});
