/**
 * An emulated SN3218 18-channel LED driver, behaving as its datasheet describes.
 *
 * - 0x00 shutdown register: bit0 = 0 is software shutdown (the power-up state), 1 is normal
 *   operation. It takes effect at once and the other registers keep their data while shut down.
 * - 0x01-0x12 PWM for OUT1-OUT18 and 0x13-0x15 LED control land in temporary registers. Writing
 *   any value to 0x16 copies them to the outputs.
 * - 0x17: writing any value resets every register to its default.
 * - The register pointer advances after each data byte, so one transaction fills a run of
 *   registers. A run that passes 0x17 is rejected whole here, as is a write of no bytes.
 */

export const SN3218_ADDRESS = 0x54;
export const SN3218_CHANNELS = 18;

const REGISTER_SHUTDOWN = 0x00;
const REGISTER_PWM_FIRST = 0x01;
const REGISTER_CONTROL_FIRST = 0x13;
const REGISTER_UPDATE = 0x16;
const REGISTER_RESET = 0x17;
const LAST_REGISTER = REGISTER_RESET;

/** Rejection of a transfer that the real chip would not acknowledge or would not accept. */
export class Sn3218RejectError extends Error {
  override name = "Sn3218RejectError";
}

/** Visible state of the board, and the chip state behind it. */
export interface Sn3218State {
  /** True when bit0 of 0x00 is 0: every output is dark whatever the other registers contain. */
  readonly shutdown: boolean;
  /** Latched PWM of OUT1..OUT18, as the outputs use them. */
  readonly pwm: readonly number[];
  /** Latched LED control bits of OUT1..OUT18. */
  readonly enabled: readonly boolean[];
  /** Duty of each output as it is lit now: PWM where enabled and not shut down, else 0. */
  readonly visible: readonly number[];
}

export class EmulatedSn3218 {
  /** Register file 0x00-0x15 as written (the temporary side for 0x01-0x15). */
  readonly #written = new Uint8Array(REGISTER_UPDATE);
  /** Output side of 0x01-0x15, indexed by register like #written. */
  readonly #latched = new Uint8Array(REGISTER_UPDATE);
  #latchCount = 0;

  /** How many times 0x16 has been written, so tests can see when a frame reached the LEDs. */
  get latchCount(): number {
    return this.#latchCount;
  }

  /**
   * Applies one I2C write transaction: `data` written from `register` on, with auto-increment.
   *
   * @throws Sn3218RejectError when the run goes past 0x17 or carries no data byte.
   */
  write(register: number, data: Uint8Array): void {
    if (data.length === 0) {
      throw new Sn3218RejectError("A write needs at least one data byte after the register.");
    }
    const last = register + data.length - 1;
    if (register > LAST_REGISTER || last > LAST_REGISTER) {
      throw new Sn3218RejectError(
        `The SN3218 has registers 0x00 to 0x17; a write of ${data.length} bytes from ` +
          `0x${register.toString(16).padStart(2, "0")} would reach 0x${last.toString(16)}.`,
      );
    }
    data.forEach((value, offset) => {
      this.#writeRegister(register + offset, value);
    });
  }

  #writeRegister(register: number, value: number): void {
    if (register === REGISTER_RESET) {
      this.#written.fill(0);
      this.#latched.fill(0);
      return;
    }
    if (register === REGISTER_UPDATE) {
      this.#latched.set(this.#written.subarray(REGISTER_PWM_FIRST), REGISTER_PWM_FIRST);
      this.#latchCount += 1;
      return;
    }
    this.#written[register] = value;
  }

  /** Returns the state as the LEDs show it. */
  state(): Sn3218State {
    const shutdown = ((this.#written[REGISTER_SHUTDOWN] ?? 0) & 0x01) === 0;
    const pwm: number[] = [];
    const enabled: boolean[] = [];
    const visible: number[] = [];
    for (let channel = 0; channel < SN3218_CHANNELS; channel += 1) {
      const duty = this.#latched[REGISTER_PWM_FIRST + channel] ?? 0;
      const control = this.#latched[REGISTER_CONTROL_FIRST + Math.floor(channel / 6)] ?? 0;
      const on = ((control >> (channel % 6)) & 1) === 1;
      pwm.push(duty);
      enabled.push(on);
      visible.push(on && !shutdown ? duty : 0);
    }
    return { shutdown, pwm, enabled, visible };
  }

  /** Returns the register file as written, 0x00-0x15, before latching, for tests and debugging. */
  writtenRegisters(): Uint8Array {
    return this.#written.slice();
  }
}
