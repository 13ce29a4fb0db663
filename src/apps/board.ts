import { existsSync } from "node:fs";
import type { I2cBus } from "../bus/bus.js";
import { CountingBus, type TrafficCount } from "../bus/counting.js";
import { createEmulatedPiGlow, type EmulatedBus } from "../bus/emulated.js";
import type { EmulatedSn3218 } from "../bus/emulated-sn3218.js";
import { i2cDevicePath, openLinuxBus } from "../bus/linux.js";
import { ReopeningBus } from "../bus/reopening.js";
import { Sn3218 } from "../chip/sn3218.js";
import { explainBusError } from "./explain.js";
import { isRaspberryPi } from "./host.js";

/** The bus a PiGlow sits on in every Raspberry Pi since the revision-2 Model B. */
export const DEFAULT_BUS = 1;

/** Board request from the command line: `--bus N`, `--emulate`, or neither. */
export interface BoardRequest {
  readonly bus?: number | undefined;
  readonly emulate?: boolean | undefined;
}

/** An open board: the driver, what the LEDs show, and the traffic it cost. */
export interface OpenBoard {
  readonly emulated: boolean;
  /** `/dev/i2c-N`, or `emulated`. */
  readonly path: string;
  /** Reason for the emulated board when the user did not request it, for one log line. */
  readonly notice: string | undefined;
  readonly driver: Sn3218;
  readonly traffic: TrafficCount;
  /**
   * PWM of OUT1..OUT18 as latched in the chip: read from the emulated chip, or the driver's
   * shadow copy on hardware (0 where unknown).
   */
  latchedPwm(): number[];
  /** Turns a bus failure into a message with the fix for this board's bus. */
  explain(error: unknown): unknown;
  close(): Promise<void>;
}

/**
 * Picks the bus: the composition root, and the only place that decides whether the board is real.
 *
 * - `--emulate`: the emulated board.
 * - `--bus N`: `/dev/i2c-N`, required; failures become a {@link SetupError} with the fix.
 * - neither: `/dev/i2c-1` on a Raspberry Pi where it exists, else the emulated board. Other
 *   machines' buses are not probed because 0x54 there is often a memory module's SPD EEPROM.
 */
export async function openBoard(request: BoardRequest): Promise<OpenBoard> {
  if (request.emulate === true) {
    return emulatedBoard(undefined);
  }
  if (request.bus === undefined) {
    const path = i2cDevicePath(DEFAULT_BUS);
    if (!existsSync(path)) {
      return emulatedBoard(
        `No ${path} here, so glitter runs on the emulated board; pass --bus ${DEFAULT_BUS} to ` +
          `require the PiGlow.`,
      );
    }
    if (!isRaspberryPi()) {
      return emulatedBoard(
        `This is not a Raspberry Pi, so glitter leaves ${path} alone and runs on the emulated ` +
          `board; pass --bus ${DEFAULT_BUS} to use that bus anyway.`,
      );
    }
  }
  const busNumber = request.bus ?? DEFAULT_BUS;
  let bus: I2cBus;
  try {
    bus = await openLinuxBus(busNumber);
  } catch (error) {
    throw explainBusError(error, busNumber);
  }
  return hardwareBoard(bus, busNumber);
}

/** Builds a board on an emulated PiGlow; tests pass their own to inject faults. */
export function emulatedBoard(
  notice: string | undefined,
  { bus, chip }: { bus: EmulatedBus; chip: EmulatedSn3218 } = createEmulatedPiGlow(),
): OpenBoard {
  const counting = new CountingBus(bus);
  const driver = new Sn3218(counting);
  return {
    emulated: true,
    path: bus.path,
    notice,
    driver,
    traffic: counting.count,
    latchedPwm: () => [...chip.state().pwm],
    explain: (error) => error,
    close: () => counting.close(),
  };
}

function hardwareBoard(bus: I2cBus, busNumber: number): OpenBoard {
  const reopening = new ReopeningBus(bus.path, () => openLinuxBus(busNumber), bus);
  const counting = new CountingBus(reopening);
  const driver = new Sn3218(counting);
  return {
    emulated: false,
    path: i2cDevicePath(busNumber),
    notice: undefined,
    driver,
    traffic: counting.count,
    latchedPwm: () => driver.latchedPwm().map((value) => value ?? 0),
    explain: (error) => explainBusError(error, busNumber),
    close: () => counting.close(),
  };
}
