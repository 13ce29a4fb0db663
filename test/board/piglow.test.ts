import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Frame } from "../../src/board/frame.js";
import { gamma, inverseGamma } from "../../src/board/gamma.js";
import {
  checkLed,
  enableMask,
  ledAt,
  legChannels,
  POSITIONS,
  resolveTarget,
  ringChannels,
} from "../../src/board/piglow.js";
import { LEG_CHANNELS, LEGS, RINGS } from "../datasheet.js";

describe("PiGlow map", () => {
  test("every leg matches the wiring table", () => {
    LEG_CHANNELS.forEach((channels, leg) => {
      assert.deepEqual(legChannels(leg), channels, `leg ${leg}`);
      assert.deepEqual(resolveTarget(LEGS[leg] ?? ""), channels, `leg name ${LEGS[leg]}`);
      assert.deepEqual(resolveTarget(`leg${leg}`), channels);
    });
  });

  test("every ring matches the wiring table", () => {
    const expected = [
      [6, 17, 0],
      [7, 16, 1],
      [8, 15, 2],
      [5, 13, 3],
      [4, 11, 14],
      [9, 10, 12],
    ];
    RINGS.forEach((ring, index) => {
      assert.deepEqual(ringChannels(index), expected[index], ring);
      assert.deepEqual(resolveTarget(ring), expected[index], ring);
      assert.deepEqual(resolveTarget(`ring${index}`), expected[index]);
    });
  });

  test("every named LED matches the wiring table", () => {
    LEG_CHANNELS.forEach((channels, leg) => {
      channels.forEach((channel, ring) => {
        const name = `${LEGS[leg]}-${RINGS[ring]}`;
        assert.deepEqual(resolveTarget(name), [channel], name);
        assert.equal(ledAt(leg, ring), channel, name);
        assert.deepEqual(POSITIONS[channel], { leg, ring, name });
      });
    });
    assert.equal(new Set(LEG_CHANNELS.flat()).size, 18);
  });

  test("channel numbers and all resolve", () => {
    assert.deepEqual(resolveTarget("0"), [0]);
    assert.deepEqual(resolveTarget(" 17 "), [17]);
    assert.deepEqual(
      resolveTarget("ALL"),
      Array.from({ length: 18 }, (_, i) => i),
    );
    assert.throws(
      () => resolveTarget("18"),
      /target "18" is not a channel: LEDs are numbered 0 to 17/,
    );
    assert.throws(() => resolveTarget("purple"), /target "purple" is not an LED, leg or ring/);
    assert.throws(() => resolveTarget("leg3"), /leg must be an integer from 0 to 2, got 3/);
  });

  test("enable masks follow the LED control registers", () => {
    assert.deepEqual(enableMask([0]), [0x01, 0x00, 0x00]);
    assert.deepEqual(enableMask([17]), [0x00, 0x00, 0x20]);
    assert.deepEqual(enableMask([5, 6, 12]), [0x20, 0x01, 0x01]);
    assert.deepEqual(enableMask(Array.from({ length: 18 }, (_, i) => i)), [0x3f, 0x3f, 0x3f]);
    assert.deepEqual(enableMask([]), [0, 0, 0]);
  });
});

describe("Frame", () => {
  test("a get then set of the same value changes nothing", () => {
    const frame = new Frame(Array.from({ length: 18 }, (_, i) => i * 7));
    const before = frame.toArray();
    for (let led = 0; led < 18; led += 1) {
      frame.set(led, frame.get(led));
    }
    assert.deepEqual(frame.toArray(), before);
  });

  test("legs and rings set their channels", () => {
    const frame = new Frame().setLeg(1, 40).setRing(0, 9);
    assert.equal(frame.get(17), 9, "right-red: ring wins, set last");
    assert.equal(frame.get(10), 40, "right-white");
    assert.equal(frame.get(6), 9, "top-red");
    assert.equal(frame.get(9), 0, "top-white");
  });
});

describe("argument checks", () => {
  const cases: [string, () => unknown][] = [
    ["Frame.set led", () => new Frame().set(18, 0)],
    ["Frame.set value", () => new Frame().set(0, 256)],
    ["Frame.setLeg leg", () => new Frame().setLeg(3, 0)],
    ["Frame.setRing ring", () => new Frame().setRing(6, 0)],
    ["Frame.fill value", () => new Frame().fill(-1)],
    ["legChannels", () => legChannels(-1)],
    ["ringChannels", () => ringChannels(1.5)],
    ["checkLed", () => checkLed(Number.NaN)],
    ["gamma brightness", () => gamma(300)],
    ["gamma exponent", () => gamma(10, 0)],
    ["enableMask", () => enableMask([18])],
  ];
  for (const [name, call] of cases) {
    test(`${name} rejects out of range`, () => {
      assert.throws(call, (error: unknown) => {
        assert.ok(error instanceof RangeError, `RangeError from ${name}`);
        assert.match(error.message, /must be (an integer|a number) from -?[\d.]+ to [\d.]+, got /);
        return true;
      });
    });
  }

  const wrongTypes: [string, () => unknown][] = [
    ["Frame.set boolean", () => new Frame().set(true as unknown as number, 0)],
    ["Frame.set string value", () => new Frame().set(0, "5" as unknown as number)],
    ["legChannels boolean", () => legChannels(false as unknown as number)],
    ["gamma boolean", () => gamma(true as unknown as number)],
  ];
  for (const [name, call] of wrongTypes) {
    test(`${name} is a TypeError`, () => {
      assert.throws(call, TypeError);
    });
  }
});

describe("gamma", () => {
  test("keeps both ends", () => {
    for (const exponent of [0.5, 1, 2.2, 3]) {
      assert.equal(gamma(0, exponent), 0);
      assert.equal(gamma(255, exponent), 255);
    }
  });

  test("never decreases", () => {
    for (const exponent of [0.5, 1, 2.2, 4]) {
      let previous = 0;
      for (let value = 0; value <= 255; value += 1) {
        const pwm = gamma(value, exponent);
        assert.ok(pwm >= previous, `gamma(${value}, ${exponent})`);
        previous = pwm;
      }
    }
  });

  test("exponent 1 is linear, 2 squares", () => {
    assert.equal(gamma(100, 1), 100);
    assert.equal(gamma(128, 2), Math.round((128 * 128) / 255));
  });

  test("inverse finds the lowest brightness", () => {
    for (const pwm of [0, 1, 20, 128, 255]) {
      const brightness = inverseGamma(pwm);
      assert.ok(gamma(brightness) >= pwm);
      if (brightness > 0) {
        assert.ok(gamma(brightness - 1) < pwm);
      }
    }
  });
});
