import { checkNumber, describeValue } from "../core/check.js";
import { Frame } from "../board/frame.js";
import { DEFAULT_GAMMA, gamma } from "../board/gamma.js";
import { checkLevel, LEGS, RING_NAMES, ringChannels } from "../board/piglow.js";
import type { CpuReading } from "../sources/proc-stat.js";

/** Settings every visual takes. */
export interface VisualOptions {
  /** Peak level, 0-255: raw PWM for `classic`, perceived brightness (before gamma) otherwise. */
  readonly brightness: number;
  /** Gamma exponent for the visuals that apply one. */
  readonly gamma: number;
}

/** A pure function from a CPU reading to a frame. */
export type CpuVisual = (reading: CpuReading, options: VisualOptions) => Frame;

/** Upper bounds (exclusive, in percent) of the classic `cpu.py` levels: rings lit = index + 1. */
const CLASSIC_THRESHOLDS = [5, 20, 40, 60, 80] as const;

/**
 * The `cpu.py` visualiser as users know it: all rings at one raw PWM (20 by default, no gamma),
 * red under 5 %, red and orange under 20 %, then yellow under 40 %, green under 60 % and blue
 * under 80 %; all 18 LEDs from 80 % up.
 */
export const classic: CpuVisual = (reading, options) => {
  const percent = checkPercent(reading.total);
  const level = checkLevel("brightness", options.brightness);
  const below = CLASSIC_THRESHOLDS.findIndex((threshold) => percent < threshold);
  const rings = below === -1 ? RING_NAMES.length : below + 1;
  const frame = new Frame();
  for (let ring = 0; ring < rings; ring += 1) {
    frame.setRing(ring, level);
  }
  return frame;
};

/**
 * A bar of 18 steps that fills the board ring by ring from the red tips to the white centre,
 * with gamma-corrected brightness. The LED at the edge of the bar is lit in proportion to the
 * fraction of its step, so the bar grows smoothly instead of in 5 coarse levels.
 */
export const bar: CpuVisual = (reading, options) => {
  const order = RING_NAMES.flatMap((_, ring) => ringChannels(ring));
  return fillBar(new Frame(), order, checkPercent(reading.total), options);
};

/**
 * One bar per leg, tip to centre, each showing a group of cores: with 3 or more cores, core n
 * goes to leg n mod 3 and each leg shows the mean of its group; with 2, the top and right legs
 * show one core each and the left leg the total; with 1, every leg shows the total.
 */
export const arms: CpuVisual = (reading, options) => {
  const frame = new Frame();
  const groups = coreGroups(reading);
  LEGS.forEach((channels, leg) => {
    fillBar(frame, channels, groups[leg] ?? reading.total, options);
  });
  return frame;
};

function coreGroups(reading: CpuReading): number[] {
  const cores = reading.cores.map(checkPercent);
  if (cores.length >= LEGS.length) {
    return LEGS.map((_, leg) => {
      const group = cores.filter((_, core) => core % LEGS.length === leg);
      return group.reduce((sum, value) => sum + value, 0) / group.length;
    });
  }
  if (cores.length === 2) {
    return [cores[0] ?? 0, cores[1] ?? 0, reading.total];
  }
  return LEGS.map(() => reading.total);
}

/** Lights `order` as a bar of `percent`, with the edge LED partly lit. */
function fillBar(
  frame: Frame,
  order: readonly number[],
  percent: number,
  options: VisualOptions,
): Frame {
  const brightness = checkLevel("brightness", options.brightness);
  const exponent = checkNumber("gamma", options.gamma, 0.1, 5);
  const level = (checkPercent(percent) / 100) * order.length;
  order.forEach((led, step) => {
    const share = Math.min(1, Math.max(0, level - step));
    frame.set(led, gamma(Math.round(brightness * share), exponent));
  });
  return frame;
}

function checkPercent(percent: number): number {
  return checkNumber("percent", percent, 0, 100);
}

/** A visual with the level it uses when `--brightness` is not given. */
export interface VisualStyle {
  readonly render: CpuVisual;
  readonly defaultBrightness: number;
  readonly description: string;
}

export const STYLES = {
  bar: {
    render: bar,
    defaultBrightness: 96,
    description: "a bar from the red tips to the white centre, edge LED partly lit (default)",
  },
  arms: {
    render: arms,
    defaultBrightness: 96,
    description: "one bar per leg, each showing a group of cores",
  },
  classic: {
    render: classic,
    defaultBrightness: 20,
    description: "the cpu.py rings at raw PWM 20, without its flicker",
  },
} as const satisfies Record<string, VisualStyle>;

export type StyleName = keyof typeof STYLES;

export const DEFAULT_STYLE: StyleName = "bar";

/** Looks a style up by name. @throws RangeError listing the styles. */
export function findStyle(name: string): VisualStyle {
  if (Object.hasOwn(STYLES, name)) {
    return STYLES[name as StyleName];
  }
  throw new RangeError(
    `style ${describeValue(name)} is unknown. Use one of: ${Object.keys(STYLES).join(", ")}.`,
  );
}

export { DEFAULT_GAMMA };
