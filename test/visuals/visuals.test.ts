import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { arms, bar, classic, findStyle } from "../../src/visuals/visuals.js";
import { LEG_CHANNELS } from "../datasheet.js";

/** Channels of each ring, from the wiring table: ring r is LEG_CHANNELS[*][r]. */
const ring = (r: number): number[] => LEG_CHANNELS.map((leg) => leg[r] ?? -1);
const litChannels = (pwm: Uint8Array): number[] =>
  [...pwm.keys()].filter((channel) => (pwm[channel] ?? 0) > 0).sort((a, b) => a - b);
const ringsUpTo = (count: number): number[] =>
  Array.from({ length: count }, (_, r) => ring(r))
    .flat()
    .sort((a, b) => a - b);

const reading = (total: number, cores: number[] = [total]) => ({ total, cores });

describe("classic", () => {
  const cases: [number, number][] = [
    [0, 1],
    [4.99, 1],
    [5, 2],
    [19.99, 2],
    [20, 3],
    [39.99, 3],
    [40, 4],
    [59.99, 4],
    [60, 5],
    [79.99, 5],
    [80, 6],
    [100, 6],
  ];
  for (const [percent, rings] of cases) {
    test(`${percent} % lights ${rings} rings`, () => {
      const frame = classic(reading(percent), { brightness: 20, gamma: 2.2 });
      assert.deepEqual(litChannels(frame.pwm), ringsUpTo(rings));
      for (const channel of litChannels(frame.pwm)) {
        assert.equal(frame.pwm[channel], 20, "raw PWM 20, no gamma");
      }
    });
  }

  test("uses brightness as raw PWM", () => {
    const frame = classic(reading(90), { brightness: 7, gamma: 2.2 });
    assert.deepEqual([...frame.pwm], new Array<number>(18).fill(7));
  });

  test("rejects readings outside 0-100", () => {
    assert.throws(() => classic(reading(101), { brightness: 20, gamma: 2.2 }), RangeError);
    assert.throws(() => classic(reading(Number.NaN), { brightness: 20, gamma: 2.2 }), RangeError);
  });
});

describe("bar", () => {
  const options = { brightness: 255, gamma: 1 };

  test("0 % is dark and 100 % is full", () => {
    assert.deepEqual([...bar(reading(0), options).pwm], new Array<number>(18).fill(0));
    assert.deepEqual([...bar(reading(100), options).pwm], new Array<number>(18).fill(255));
  });

  test("fills the red ring first, in leg order", () => {
    const pwm = bar(reading((100 * 2.5) / 18), options).pwm;
    assert.equal(pwm[6], 255, "top-red");
    assert.equal(pwm[17], 255, "right-red");
    assert.equal(pwm[0], 128, "left-red, half lit");
    assert.deepEqual(litChannels(pwm), [0, 6, 17]);
  });

  test("grows monotonically with load", () => {
    let previous = -1;
    for (let percent = 0; percent <= 100; percent += 0.5) {
      const sum = bar(reading(percent), options).pwm.reduce((a, b) => a + b, 0);
      assert.ok(sum >= previous, `${percent} %`);
      previous = sum;
    }
  });

  test("applies gamma to the partly lit LED", () => {
    const pwm = bar(reading(100 / 36), { brightness: 255, gamma: 2 }).pwm;
    assert.equal(pwm[6], Math.round(255 * (128 / 255) ** 2), "brightness 128, squared");
  });
});

describe("arms", () => {
  const options = { brightness: 255, gamma: 1 };

  test("three or more cores group round robin", () => {
    const pwm = arms(reading(50, [100, 0, 50, 100]), options).pwm;
    const lit = (leg: number) => (LEG_CHANNELS[leg] ?? []).filter((c) => (pwm[c] ?? 0) > 0).length;
    assert.equal(lit(0), 6, "cores 0 and 3: 100 %");
    assert.equal(lit(1), 0, "core 1: 0 %");
    assert.equal(lit(2), 3, "core 2: 50 %");
  });

  test("two cores and the total", () => {
    const pwm = arms(reading(50, [100, 0]), options).pwm;
    assert.equal(pwm[9], 255, "top-white: core 0 full");
    assert.equal(pwm[17], 0, "right-red: core 1 idle");
    assert.equal(pwm[0], 255, "left-red: total 50 %");
    assert.equal(pwm[12], 0, "left-white: total 50 %");
  });
});

describe("findStyle", () => {
  test("names the styles when unknown", () => {
    assert.throws(
      () => findStyle("sparkle"),
      /style "sparkle" is unknown. Use one of: bar, arms, classic/,
    );
    assert.throws(() => findStyle("toString"), RangeError);
  });
});
