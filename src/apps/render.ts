import { LEG_NAMES, POSITIONS, RING_COLOURS, RING_NAMES } from "../board/piglow.js";

/** One character cell of the drawn board. */
export interface Cell {
  readonly char: string;
  /** sRGB colour, or undefined for the terminal's default colour. */
  readonly rgb?: readonly [number, number, number];
}

const WIDTH = 41;
const HEIGHT = 15;
const CENTRE_X = 20;
const CENTRE_Y = 9;
/** Distance of the white centre LED and of the red tip from the centre, in rows. */
const INNER_RADIUS = 1.6;
const OUTER_RADIUS = 8.6;
/** How far each arm turns clockwise from its centre to its tip, which points up, right-down, left-down. */
const TWIST_RADIANS = (70 * Math.PI) / 180;
/** Terminal cells are about twice as tall as wide. */
const CELL_ASPECT = 2.1;

const OFF_LEVEL = 0.22;

/** Column and row of each channel's LED: leg tips 120 degrees apart, clockwise from the top. */
const LED_CELLS: readonly (readonly [number, number])[] = POSITIONS.map(({ leg, ring }) => {
  const outward = (RING_NAMES.length - 1 - ring) / (RING_NAMES.length - 1);
  const radius = INNER_RADIUS + outward * (OUTER_RADIUS - INNER_RADIUS);
  const tipAngle = -Math.PI / 2 + (leg * 2 * Math.PI) / LEG_NAMES.length;
  const angle = tipAngle - TWIST_RADIANS * (1 - outward);
  return [
    Math.round(CENTRE_X + CELL_ASPECT * radius * Math.cos(angle)),
    Math.round(CENTRE_Y + radius * Math.sin(angle)),
  ] as const;
});

/**
 * Returns how bright an LED looks at a PWM duty. Its light is linear in PWM and perceived
 * brightness follows roughly the 1/2.2 power of light. Dark LEDs stay faintly drawn so the layout shows.
 */
function apparentLevel(pwm: number): number {
  if (pwm === 0) {
    return OFF_LEVEL;
  }
  return 0.4 + 0.6 * Math.pow(pwm / 255, 1 / 2.2);
}

/**
 * Draws the PiGlow as a grid of cells: the three spiral arms with each LED in its ring's colour
 * at its apparent brightness. `pwm` is indexed by channel.
 */
export function drawBoard(pwm: readonly number[]): Cell[][] {
  const grid: Cell[][] = Array.from({ length: HEIGHT }, () =>
    Array.from({ length: WIDTH }, () => ({ char: " " })),
  );
  const hub = grid[CENTRE_Y];
  if (hub !== undefined) {
    hub[CENTRE_X] = { char: "+", rgb: [90, 90, 90] };
  }
  POSITIONS.forEach(({ ring }, channel) => {
    const cell = LED_CELLS[channel];
    const row = cell === undefined ? undefined : grid[cell[1]];
    if (cell === undefined || row === undefined) {
      return;
    }
    const duty = pwm[channel] ?? 0;
    const level = apparentLevel(duty);
    const colour = RING_COLOURS[RING_NAMES[ring] ?? "white"];
    row[cell[0]] = {
      char: duty === 0 ? "○" : "●",
      rgb: [
        Math.round(colour[0] * level),
        Math.round(colour[1] * level),
        Math.round(colour[2] * level),
      ],
    };
  });
  return grid;
}

/** Renders cells as text with 24-bit ANSI colour, one line per row. */
export function toAnsi(grid: readonly (readonly Cell[])[]): string[] {
  return grid.map((row) => {
    let line = "";
    for (const cell of row) {
      line +=
        cell.rgb === undefined
          ? cell.char
          : `\x1b[38;2;${cell.rgb[0]};${cell.rgb[1]};${cell.rgb[2]}m${cell.char}\x1b[0m`;
    }
    return line.trimEnd();
  });
}
