/**
 * SN3218 register map, named as in the datasheet (SI-EN Technology SN3218, register table).
 * Channels here are 0-based: channel n drives the pin OUT(n+1).
 */

/** The chip's fixed 7-bit I2C address. */
export const SN3218_I2C_ADDRESS = 0x54;

/** Number of PWM outputs, OUT1 to OUT18. */
export const CHANNEL_COUNT = 18;

/** Shutdown Register: bit0 = 0 software shutdown (power-up default), 1 normal operation. */
export const SHUTDOWN = 0x00;
/** PWM Register of OUT1; OUT(n) is at PWM_OUT1 + n - 1, up to 0x12 for OUT18. */
export const PWM_OUT1 = 0x01;
/** LED Control Register 1: bits 5..0 enable OUT6..OUT1. */
export const LED_CONTROL_1 = 0x13;
/** LED Control Register 2: bits 5..0 enable OUT12..OUT7. */
export const LED_CONTROL_2 = 0x14;
/** LED Control Register 3: bits 5..0 enable OUT18..OUT13. */
export const LED_CONTROL_3 = 0x15;
/** Update Register: writing any value loads the PWM and LED control data into the outputs. */
export const UPDATE = 0x16;
/** Reset Register: writing any value resets every register to its default. */
export const RESET = 0x17;

/** Shutdown Register value for normal operation (software shutdown disabled). */
export const SHUTDOWN_NORMAL = 0x01;
/** Shutdown Register value for software shutdown. */
export const SHUTDOWN_OFF = 0x00;
/** Value written to the Update and Reset registers; the chip ignores it. */
export const TRIGGER_VALUE = 0xff;
/** All six enable bits of one LED Control Register. */
export const LED_CONTROL_ALL = 0x3f;

/** PWM register of a 0-based channel. */
export function pwmRegister(channel: number): number {
  return PWM_OUT1 + channel;
}

/**
 * LED Control Register values (0x13, 0x14, 0x15) that enable exactly `channels` (0-based).
 * Channel n is bit (n mod 6) of register 0x13 + floor(n / 6).
 */
export function ledControlBytes(channels: Iterable<number>): [number, number, number] {
  const bytes: [number, number, number] = [0, 0, 0];
  for (const channel of channels) {
    const index = Math.floor(channel / 6) as 0 | 1 | 2;
    bytes[index] |= 1 << (channel % 6);
  }
  return bytes;
}
