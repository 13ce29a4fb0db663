/**
 * SN3218 register table and PiGlow layout, written from the SN3218 datasheet (SI-EN Technology)
 * and the PiGlow's wiring, independently of src/, so the tests check the code against the
 * documents rather than against itself.
 */

export const ADDRESS = 0x54;

export const SHUTDOWN = 0x00;
/** PWM register of output OUTn, n = 1..18: 0x01..0x12. */
export const PWM_OUT = (n: number): number => 0x00 + n;
export const LED_CONTROL_1 = 0x13;
export const LED_CONTROL_2 = 0x14;
export const LED_CONTROL_3 = 0x15;
export const UPDATE = 0x16;
export const RESET = 0x17;

/** Shutdown register bit0: 1 normal operation, 0 software shutdown. */
export const NORMAL = 0x01;
export const SOFTWARE_SHUTDOWN = 0x00;

/** Channels (0-based, OUT = channel + 1) per leg, from the red tip to the white centre. */
export const LEG_CHANNELS = [
  [6, 7, 8, 5, 4, 9],
  [17, 16, 15, 13, 11, 10],
  [0, 1, 2, 3, 14, 12],
];
export const RINGS = ["red", "orange", "yellow", "green", "blue", "white"];
export const LEGS = ["top", "right", "left"];

/** One expected transaction: address, register, data bytes. */
export type Wire = [number, number, number[]];
