import { checkNumber } from "../core/check.js";
import { checkLevel } from "./piglow.js";

/** Gamma exponent used when none is given; close to the sRGB curve. */
export const DEFAULT_GAMMA = 2.2;

/**
 * Maps a perceived brightness (0-255) to a PWM duty (0-255) so that equal steps of brightness
 * look like equal steps: round(255 * (brightness / 255) ^ exponent).
 *
 * gamma(0) is 0 and gamma(255) is 255 for every exponent, and the curve never decreases.
 * An exponent of 1 is linear.
 */
export function gamma(brightness: number, exponent: number = DEFAULT_GAMMA): number {
  checkLevel("brightness", brightness);
  checkNumber("exponent", exponent, 0.1, 5, "2.2 suits the eye; 1 is linear.");
  return Math.round(255 * Math.pow(brightness / 255, exponent));
}

/** Inverse of {@link gamma}: the lowest brightness whose PWM is at least `pwm`. */
export function inverseGamma(pwm: number, exponent: number = DEFAULT_GAMMA): number {
  checkLevel("pwm", pwm);
  checkNumber("exponent", exponent, 0.1, 5, "2.2 suits the eye; 1 is linear.");
  let brightness = Math.round(255 * Math.pow(pwm / 255, 1 / exponent));
  while (brightness > 0 && gamma(brightness - 1, exponent) >= pwm) {
    brightness -= 1;
  }
  while (brightness < 255 && gamma(brightness, exponent) < pwm) {
    brightness += 1;
  }
  return brightness;
}
