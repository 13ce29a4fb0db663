import { I2C_BLOCK_MAX } from "../bus/bus.js";
import { LED_CONTROL_3, PWM_OUT1, SHUTDOWN, TRIGGER_VALUE, UPDATE } from "./registers.js";

/** A register value, or undefined where it is unknown (shadow) or left as it is (wanted). */
export type RegisterImage = readonly (number | undefined)[];

/** One block write: `data` goes to `register` and the registers after it. */
export interface BlockWrite {
  readonly register: number;
  readonly data: readonly number[];
}

/**
 * A separate transaction costs START, address byte, register byte and STOP, about 20 bit times;
 * each register of a gap written again costs 9. So a run absorbs gaps of up to 2 registers.
 */
const MAX_GAP = 2;

/**
 * Plans the cheapest block writes that bring a chip whose registers hold `shadow` to `wanted`,
 * with no partial frame ever visible.
 *
 * Both images cover 0x00 to 0x15. Buffered registers (0x01-0x15) that differ go out in ascending
 * runs and the last run ends with the Update Register, so the latch follows every PWM byte. A
 * gap of up to {@link MAX_GAP} registers inside a run is filled with the value they must hold
 * anyway; a gap whose value is not known splits the run. The Shutdown Register is written first
 * when it turns the chip off and last, after the latch, when it turns it on.
 */
export function planWrites(shadow: RegisterImage, wanted: RegisterImage): BlockWrite[] {
  const needs = (register: number): boolean => {
    const value = wanted[register];
    return value !== undefined && value !== shadow[register];
  };
  const knownValue = (register: number): number | undefined =>
    register === UPDATE ? TRIGGER_VALUE : (wanted[register] ?? shadow[register]);

  const pending: number[] = [];
  for (let register = PWM_OUT1; register <= LED_CONTROL_3; register += 1) {
    if (needs(register)) {
      pending.push(register);
    }
  }
  const buffered: BlockWrite[] = [];
  if (pending.length > 0) {
    pending.push(UPDATE);
    let run: number[] = [];
    let runStart = -1;
    for (const register of pending) {
      const gapFillable =
        run.length > 0 &&
        register - (runStart + run.length) <= MAX_GAP &&
        register - runStart + 1 <= I2C_BLOCK_MAX &&
        rangeKnown(runStart + run.length, register, knownValue);
      if (gapFillable) {
        for (let fill = runStart + run.length; fill <= register; fill += 1) {
          run.push(knownValue(fill) ?? 0);
        }
        continue;
      }
      if (run.length > 0) {
        buffered.push({ register: runStart, data: run });
      }
      runStart = register;
      run = [knownValue(register) ?? 0];
    }
    buffered.push({ register: runStart, data: run });
  }

  const shutdownValue = wanted[SHUTDOWN];
  if (!needs(SHUTDOWN) || shutdownValue === undefined) {
    return buffered;
  }
  const shutdownWrite: BlockWrite = { register: SHUTDOWN, data: [shutdownValue] };
  return (shutdownValue & 0x01) === 0 ? [shutdownWrite, ...buffered] : [...buffered, shutdownWrite];
}

function rangeKnown(
  from: number,
  to: number,
  knownValue: (register: number) => number | undefined,
): boolean {
  for (let register = from; register < to; register += 1) {
    if (knownValue(register) === undefined) {
      return false;
    }
  }
  return true;
}
