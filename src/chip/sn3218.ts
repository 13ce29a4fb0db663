import { checkInteger } from "../core/check.js";
import type { I2cBus } from "../bus/bus.js";
import { planWrites, type BlockWrite } from "./plan.js";
import {
  CHANNEL_COUNT,
  LED_CONTROL_1,
  LED_CONTROL_ALL,
  LED_CONTROL_3,
  pwmRegister,
  RESET,
  SHUTDOWN,
  SHUTDOWN_NORMAL,
  SHUTDOWN_OFF,
  SN3218_I2C_ADDRESS,
  TRIGGER_VALUE,
} from "./registers.js";

/** Registers 0x00-0x15, the ones whose value persists (Update and Reset only trigger). */
const IMAGE_SIZE = LED_CONTROL_3 + 1;

/** Block writes that one {@link Sn3218.update} sent. */
export interface UpdateResult {
  readonly writes: readonly BlockWrite[];
}

/**
 * Driver for the SN3218 18-channel LED driver.
 *
 * The chip cannot be read back, so the driver keeps a shadow copy of every register it wrote,
 * updated only once the bus has acknowledged the whole update. Setters stage values; `update()`
 * sends only the registers that differ from the shadow, as few block writes as the protocol
 * allows, and latches them with the Update Register after the last PWM byte. A register the
 * driver has never written, or that a failed update left in doubt, counts as unknown and is
 * sent again on the next update.
 */
export class Sn3218 {
  readonly #bus: I2cBus;
  readonly #address: number;
  /** Last values the chip acknowledged; undefined where the chip's content is unknown. */
  #shadow: (number | undefined)[] = new Array<number | undefined>(IMAGE_SIZE).fill(undefined);
  /** Values staged by the setters; undefined where the caller leaves the register as it is. */
  readonly #wanted: (number | undefined)[] = new Array<number | undefined>(IMAGE_SIZE).fill(
    undefined,
  );

  constructor(bus: I2cBus, options: { address?: number } = {}) {
    this.#bus = bus;
    this.#address = checkInteger(
      "address",
      options.address ?? SN3218_I2C_ADDRESS,
      0x03,
      0x77,
      "The SN3218 answers at 0x54.",
    );
  }

  /**
   * Writes the Reset Register, which returns every register to its default: software
   * shutdown, every LED disabled, every PWM 0. Staged values are dropped.
   */
  async reset(): Promise<void> {
    this.#shadow = new Array<number | undefined>(IMAGE_SIZE).fill(undefined);
    await this.#bus.writeI2cBlock(this.#address, RESET, Uint8Array.of(TRIGGER_VALUE));
    this.#shadow = new Array<number>(IMAGE_SIZE).fill(0);
    this.#wanted.fill(undefined);
  }

  /** Stages normal operation (`true`) or software shutdown (`false`). */
  setEnabled(enabled: boolean): void {
    this.#wanted[SHUTDOWN] = enabled ? SHUTDOWN_NORMAL : SHUTDOWN_OFF;
  }

  /** Stages the three LED Control Registers; each byte contains the enable bits of six outputs. */
  setLedControl(bytes: readonly [number, number, number]): void {
    bytes.forEach((value, index) => {
      this.#wanted[LED_CONTROL_1 + index] = checkInteger(
        `ledControl[${index}]`,
        value,
        0,
        LED_CONTROL_ALL,
      );
    });
  }

  /** Stages the PWM duty (0-255) of one 0-based channel. */
  setPwm(channel: number, value: number): void {
    checkInteger("channel", channel, 0, CHANNEL_COUNT - 1, "Channel n drives OUT(n+1).");
    this.#wanted[pwmRegister(channel)] = checkInteger("pwm", value, 0, 255);
  }

  /** Stages the PWM duty of all 18 channels, in channel order OUT1..OUT18. */
  setAllPwm(values: ArrayLike<number>): void {
    checkInteger("pwm.length", values.length, CHANNEL_COUNT, CHANNEL_COUNT);
    for (let channel = 0; channel < CHANNEL_COUNT; channel += 1) {
      this.setPwm(channel, values[channel] as number);
    }
  }

  /** Forgets what the chip holds, so the next update sends every staged register. */
  invalidate(): void {
    this.#shadow.fill(undefined);
  }

  /** True when the next {@link update} would send nothing. */
  get settled(): boolean {
    return planWrites(this.#shadow, this.#wanted).length === 0;
  }

  /**
   * Sends what differs between the staged values and the shadow.
   *
   * @throws I2cBusError from the bus. The chip's state is then unknown, so every register is
   *   sent again on the next update.
   */
  async update(): Promise<UpdateResult> {
    const writes = planWrites(this.#shadow, this.#wanted);
    try {
      for (const write of writes) {
        await this.#bus.writeI2cBlock(this.#address, write.register, Uint8Array.from(write.data));
      }
    } catch (error) {
      this.invalidate();
      throw error;
    }
    this.#wanted.forEach((value, register) => {
      if (value !== undefined) {
        this.#shadow[register] = value;
      }
    });
    return { writes };
  }

  /**
   * PWM of each channel as last latched, or undefined for a channel whose value is unknown.
   * With LED control and shutdown set by this driver, this is what the LEDs show.
   */
  latchedPwm(): (number | undefined)[] {
    return this.#shadow.slice(pwmRegister(0), pwmRegister(CHANNEL_COUNT));
  }
}
