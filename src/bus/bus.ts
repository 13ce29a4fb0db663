import { checkInteger } from "../core/check.js";

/** Maximum data bytes in one SMBus I2C-block transfer (I2C_SMBUS_BLOCK_MAX in the kernel). */
export const I2C_BLOCK_MAX = 32;

/**
 * An I2C bus that a write-only device driver needs: one SMBus operation and close.
 *
 * Implementations: {@link EmulatedBus} (records every transaction and feeds emulated devices)
 * and the Linux `/dev/i2c-N` adapter in `linux.ts`. Both reject the same bad arguments with
 * the same errors, so code written against this interface behaves alike on either.
 */
export interface I2cBus {
  /** Path of the bus, for messages: `/dev/i2c-1`, or `emulated` for the emulator. */
  readonly path: string;

  /**
   * Writes `data` to consecutive registers of the device at `address`, starting at `register`:
   * the SMBus "I2C block write" (`i2c_smbus_write_i2c_block_data`), one transaction of
   * START, address+W, register, data bytes, STOP.
   *
   * @param address 7-bit device address, 0x03 to 0x77.
   * @param register first register, 0x00 to 0xff.
   * @param data 1 to {@link I2C_BLOCK_MAX} bytes.
   * @throws RangeError or TypeError for arguments outside those ranges, before anything is sent.
   * @throws I2cBusError when the transfer fails; its `code` is the errno name (`ENXIO` or
   *   `EREMOTEIO` when no device acknowledged, `EIO` for a bus error, `EBADF` after close).
   */
  writeI2cBlock(address: number, register: number, data: Uint8Array): Promise<void>;

  /**
   * Sends the SMBus "quick command" with the R/W bit clear: START, address+W, STOP, no data.
   * It changes no register, so it probes a write-only device without any visible effect
   * (as `i2cdetect -q` does).
   *
   * @throws I2cBusError with a NACK code when nothing acknowledges `address`.
   */
  writeQuick(address: number): Promise<void>;

  /** Releases the bus. Later writes fail with `EBADF`; closing twice is allowed. */
  close(): Promise<void>;
}

/** A failed bus operation, with the errno name the Linux kernel would report. */
export class I2cBusError extends Error {
  readonly code: string;
  readonly path: string;
  readonly address: number | undefined;
  /** `open` when opening the device failed, so errno names keep the meaning open(2) gives them. */
  readonly operation: "open" | "transfer";

  constructor(
    message: string,
    options: {
      code: string;
      path: string;
      address?: number;
      cause?: unknown;
      operation?: "open" | "transfer";
    },
  ) {
    super(message, { cause: options.cause });
    this.name = "I2cBusError";
    this.code = options.code;
    this.path = options.path;
    this.address = options.address;
    this.operation = options.operation ?? "transfer";
  }
}

/**
 * Error codes that mean "no device acknowledged the address" on Linux I2C adapters: ENXIO,
 * EREMOTEIO or EIO from hardware controllers, ENODEV from the kernel's i2c-stub.
 */
export const NACK_CODES: ReadonlySet<string> = new Set(["ENXIO", "EREMOTEIO", "EIO", "ENODEV"]);

/** Checks a 7-bit device address, 0x03 to 0x77, the range Linux lets clients use. */
export function checkAddress(address: unknown): number {
  return checkInteger("address", address, 0x03, 0x77, "Use the device's 7-bit I2C address.");
}

/** Checks the arguments of {@link I2cBus.writeI2cBlock}, as every implementation must. */
export function checkBlockWrite(address: unknown, register: unknown, data: unknown): void {
  checkAddress(address);
  checkInteger("register", register, 0x00, 0xff);
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(`data must be a Uint8Array of 1 to ${I2C_BLOCK_MAX} bytes.`);
  }
  checkInteger(
    "data.length",
    data.length,
    1,
    I2C_BLOCK_MAX,
    "Split the write into SMBus blocks of at most 32 bytes.",
  );
}

/** Formats an address as the two-digit hex that datasheets and i2c-tools use. */
export function hex(value: number): string {
  return `0x${value.toString(16).padStart(2, "0")}`;
}
