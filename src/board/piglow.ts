import { checkInteger, describeValue } from "../core/check.js";
import { CHANNEL_COUNT, ledControlBytes } from "../chip/registers.js";

/**
 * The Pimoroni PiGlow as plain data: 18 LEDs on the SN3218's 18 channels, laid out as three
 * legs (arms) of six colour rings each.
 *
 * One index space everywhere: an LED is identified by its 0-based SN3218 channel (OUT = channel
 * + 1), the index of a frame's PWM array, of the JSON view and of `glitter set`.
 */

export const LED_COUNT = CHANNEL_COUNT;

/** Leg names, clockwise from the top arm when the PiGlow logo is up. */
export const LEG_NAMES = ["top", "right", "left"] as const;
export type LegName = (typeof LEG_NAMES)[number];

/** Ring names from the outer tip to the centre. */
export const RING_NAMES = ["red", "orange", "yellow", "green", "blue", "white"] as const;
export type RingName = (typeof RING_NAMES)[number];

/** Display colour of each ring as an sRGB triple, for drawing the emulated board. */
export const RING_COLOURS: Readonly<Record<RingName, readonly [number, number, number]>> = {
  red: [255, 30, 20],
  orange: [255, 120, 0],
  yellow: [255, 220, 0],
  green: [30, 230, 40],
  blue: [40, 90, 255],
  white: [255, 255, 255],
};

/** `LEGS[leg][ring]` is the channel of that LED; rings run from the red tip to the white centre. */
export const LEGS: readonly (readonly number[])[] = [
  [6, 7, 8, 5, 4, 9],
  [17, 16, 15, 13, 11, 10],
  [0, 1, 2, 3, 14, 12],
];

/** Position of one LED on the board. */
export interface LedPosition {
  readonly leg: number;
  readonly ring: number;
  /** `<leg>-<ring>`, for example `top-red`. */
  readonly name: string;
}

/** `POSITIONS[channel]` is the leg and ring of each channel. */
export const POSITIONS: readonly LedPosition[] = (() => {
  const positions: LedPosition[] = [];
  LEGS.forEach((channels, leg) => {
    channels.forEach((channel, ring) => {
      positions[channel] = {
        leg,
        ring,
        name: `${LEG_NAMES[leg] ?? String(leg)}-${RING_NAMES[ring] ?? String(ring)}`,
      };
    });
  });
  return positions;
})();

/** Checks an LED (channel) index, 0 to 17. */
export function checkLed(led: unknown): number {
  return checkInteger("led", led, 0, LED_COUNT - 1, 'Use a channel 0-17 or a name like "top-red".');
}

/** Checks a leg index, 0 to 2. */
export function checkLeg(leg: unknown): number {
  return checkInteger("leg", leg, 0, LEGS.length - 1, "Legs are 0 top, 1 right, 2 left.");
}

/** Checks a ring index, 0 (red, tip) to 5 (white, centre). */
export function checkRing(ring: unknown): number {
  return checkInteger("ring", ring, 0, RING_NAMES.length - 1, "Rings run 0 red to 5 white.");
}

/** Checks a PWM or brightness value, 0 to 255. */
export function checkLevel(name: string, value: unknown): number {
  return checkInteger(name, value, 0, 255);
}

/** Channels of one leg, tip to centre. */
export function legChannels(leg: number): readonly number[] {
  return LEGS[checkLeg(leg)] ?? [];
}

/** Channels of one ring, in leg order. */
export function ringChannels(ring: number): readonly number[] {
  const index = checkRing(ring);
  return LEGS.map((channels) => channels[index] ?? 0);
}

/** Channel of the LED at `leg` and `ring`. */
export function ledAt(leg: number, ring: number): number {
  return legChannels(leg)[checkRing(ring)] ?? 0;
}

/** LED Control Register bytes (0x13, 0x14, 0x15) that enable exactly these LEDs. */
export function enableMask(leds: Iterable<number>): [number, number, number] {
  return ledControlBytes(Array.from(leds, checkLed));
}

/**
 * Resolves a target name to its channels: `all`; a leg (`top`, `right`, `left`, `leg0`..`leg2`);
 * a ring (`red`..`white`, `ring0`..`ring5`); an LED by name (`top-red`) or channel (`0`..`17`).
 *
 * @throws RangeError naming the target and listing the valid forms.
 */
export function resolveTarget(target: string): readonly number[] {
  const text = target.trim().toLowerCase();
  if (text === "all") {
    return Array.from({ length: LED_COUNT }, (_, channel) => channel);
  }
  const legIndex = LEG_NAMES.indexOf(text as LegName);
  if (legIndex >= 0) {
    return legChannels(legIndex);
  }
  const ringIndex = RING_NAMES.indexOf(text as RingName);
  if (ringIndex >= 0) {
    return ringChannels(ringIndex);
  }
  const numbered = /^(leg|ring)?(\d+)$/.exec(text);
  if (numbered !== null) {
    const index = Number(numbered[2]);
    if (numbered[1] === "leg") {
      return legChannels(index);
    }
    if (numbered[1] === "ring") {
      return ringChannels(index);
    }
    if (index >= LED_COUNT) {
      throw new RangeError(
        `target ${describeValue(target)} is not a channel: LEDs are numbered 0 to 17.`,
      );
    }
    return [index];
  }
  const named = POSITIONS.findIndex((position) => position.name === text);
  if (named >= 0) {
    return [named];
  }
  throw new RangeError(
    `target ${describeValue(target)} is not an LED, leg or ring. Use all; a leg (top, right, ` +
      `left, leg0-leg2); a ring (red, orange, yellow, green, blue, white, ring0-ring5); an LED ` +
      `name such as top-red; or a channel 0-17.`,
  );
}
