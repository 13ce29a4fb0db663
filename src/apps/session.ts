import { I2cBusError } from "../bus/bus.js";
import { CHANNEL_COUNT, LED_CONTROL_ALL } from "../chip/registers.js";
import type { Logger } from "./log.js";
import type { OpenBoard } from "./board.js";

const ALL_ENABLED = [LED_CONTROL_ALL, LED_CONTROL_ALL, LED_CONTROL_ALL] as const;
const DARK = new Array<number>(CHANNEL_COUNT).fill(0);

/**
 * Clears the board and puts it in a known state: reset, then normal operation with every LED
 * enabled and every PWM 0. glitter dims LEDs through PWM only, so LED control stays all-on.
 */
export async function initialiseBoard(board: OpenBoard): Promise<void> {
  await board.driver.reset();
  stageLit(board);
  board.driver.setAllPwm(DARK);
  await board.driver.update();
}

/** Stages normal operation with every LED enabled, as a lit frame needs. */
export function stageLit(board: OpenBoard): void {
  board.driver.setEnabled(true);
  board.driver.setLedControl(ALL_ENABLED);
}

/** Darkens every LED and puts the chip in software shutdown, as Linux's leds-sn3218 does. */
export async function clearBoard(board: OpenBoard): Promise<void> {
  board.driver.setAllPwm(DARK);
  board.driver.setEnabled(false);
  await board.driver.update();
}

/**
 * Sends frames and survives bus faults: a failed write is retried on later frames with a delay
 * that doubles up to {@link MAX_BACKOFF_MS}; each burst of failures is logged once, with its
 * error code, and so is the recovery. After a failure the driver no longer trusts its shadow
 * copy, so the first write that succeeds re-initialises the chip: shutdown register, LED
 * control, every PWM value and the latch.
 *
 * With `refreshMs` above 0, every register is also sent again once that long has passed since
 * the last full write. The chip cannot be read back, so this is the only way a board that lost
 * power while the picture stood still lights again.
 */
export class FrameSender {
  static readonly MAX_BACKOFF_MS = 5000;
  readonly #board: OpenBoard;
  readonly #log: Logger;
  readonly #refreshMs: number;
  #failures = 0;
  #burstStarted = 0;
  #lastFullWrite = Date.now();

  constructor(board: OpenBoard, log: Logger, refreshMs = 0) {
    this.#board = board;
    this.#log = log;
    this.#refreshMs = refreshMs;
  }

  /** Delay before the next attempt: the frame interval, doubled per failure in a row. */
  delay(intervalMs: number): number {
    if (this.#failures === 0) {
      return intervalMs;
    }
    return Math.min(FrameSender.MAX_BACKOFF_MS, intervalMs * 2 ** this.#failures);
  }

  /**
   * Sends `pwm` (18 values); returns false when the bus failed and the frame was not shown.
   * With `rewriteAll`, or when a refresh is due, every register is sent whatever the shadow
   * copy contains.
   */
  async send(pwm: ArrayLike<number>, rewriteAll = false): Promise<boolean> {
    const refreshDue = this.#refreshMs > 0 && Date.now() - this.#lastFullWrite >= this.#refreshMs;
    // After a failure the driver has invalidated its shadow, so this write is a full one too.
    const fullWrite = rewriteAll || refreshDue || this.#failures > 0;
    stageLit(this.#board);
    this.#board.driver.setAllPwm(pwm);
    if (rewriteAll || refreshDue) {
      this.#board.driver.invalidate();
    }
    try {
      await this.#board.driver.update();
    } catch (error) {
      if (!(error instanceof I2cBusError)) {
        throw error;
      }
      if (this.#failures === 0) {
        this.#burstStarted = Date.now();
        this.#log.warn(
          { err: error, code: error.code, bus: this.#board.path },
          "bus write failed; retrying with backoff",
        );
      }
      this.#failures += 1;
      return false;
    }
    if (this.#failures > 0) {
      this.#log.info(
        {
          bus: this.#board.path,
          failedAttempts: this.#failures,
          downMs: Date.now() - this.#burstStarted,
        },
        "bus recovered; chip re-initialised and frame sent again",
      );
      this.#failures = 0;
    }
    if (fullWrite) {
      this.#lastFullWrite = Date.now();
    }
    return true;
  }
}
