import { checkInteger } from "../core/check.js";
import { checkLed, checkLevel, LED_COUNT, legChannels, ringChannels } from "./piglow.js";

/**
 * One picture for the board: the PWM duty of each LED, indexed by channel (OUT1..OUT18).
 * Values are raw PWM; visuals that want perceptual brightness pass it through `gamma` first.
 */
export class Frame {
  readonly pwm: Uint8Array;

  constructor(pwm?: ArrayLike<number>) {
    this.pwm = new Uint8Array(LED_COUNT);
    if (pwm !== undefined) {
      checkInteger("pwm.length", pwm.length, LED_COUNT, LED_COUNT);
      for (let led = 0; led < LED_COUNT; led += 1) {
        this.pwm[led] = checkLevel(`pwm[${led}]`, pwm[led]);
      }
    }
  }

  get(led: number): number {
    return this.pwm[checkLed(led)] ?? 0;
  }

  set(led: number, value: number): this {
    this.pwm[checkLed(led)] = checkLevel("value", value);
    return this;
  }

  setLeg(leg: number, value: number): this {
    checkLevel("value", value);
    for (const led of legChannels(leg)) {
      this.pwm[led] = value;
    }
    return this;
  }

  setRing(ring: number, value: number): this {
    checkLevel("value", value);
    for (const led of ringChannels(ring)) {
      this.pwm[led] = value;
    }
    return this;
  }

  fill(value: number): this {
    this.pwm.fill(checkLevel("value", value));
    return this;
  }

  equals(other: Frame): boolean {
    return this.pwm.every((value, led) => value === other.pwm[led]);
  }

  toArray(): number[] {
    return Array.from(this.pwm);
  }
}
