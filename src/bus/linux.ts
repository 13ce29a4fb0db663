import { open } from "node:fs/promises";
import { checkInteger } from "../core/check.js";
import { checkBlockWrite, hex, I2cBusError, type I2cBus } from "./bus.js";

/** The part of the `i2c-bus` package's promisified bus that this adapter uses. */
interface NativePromisifiedBus {
  writeI2cBlock(
    address: number,
    command: number,
    length: number,
    buffer: Buffer,
  ): Promise<{ bytesWritten: number; buffer: Buffer }>;
  writeQuick(address: number, bit: number): Promise<void>;
  close(): Promise<void>;
}

interface NativeI2cModule {
  openPromisified(
    busNumber: number,
    options?: { forceAccess?: boolean },
  ): Promise<NativePromisifiedBus>;
}

/** The `i2c-bus` package is missing, or its native addon did not build or load. */
export class I2cAddonError extends Error {
  override name = "I2cAddonError";
}

/**
 * Loads the `i2c-bus` native addon. It is imported here, on first use, and nowhere else, so the
 * rest of glitter installs and runs (on the emulated board) where the addon cannot be built.
 */
async function loadAddon(): Promise<NativeI2cModule> {
  // A variable specifier keeps TypeScript from needing the optional package's types.
  const specifier = "i2c-bus";
  try {
    const loaded = (await import(specifier)) as { default?: NativeI2cModule } & NativeI2cModule;
    return loaded.default ?? loaded;
  } catch (error) {
    throw new I2cAddonError(
      "The i2c-bus package could not be loaded, so /dev/i2c-N cannot be used. It is an optional " +
        "dependency compiled by node-gyp at install time: install python3, make and a C++ " +
        "compiler, then run `npm install i2c-bus` in the glitter folder.",
      { cause: error },
    );
  }
}

function errnoCode(error: unknown): string {
  if (typeof error === "object" && error !== null && "code" in error) {
    const { code } = error;
    if (typeof code === "string") {
      return code;
    }
  }
  return "EIO";
}

/** The Linux character device path of I2C bus `busNumber`. */
export function i2cDevicePath(busNumber: number): string {
  return `/dev/i2c-${busNumber}`;
}

/** A Linux I2C adapter, `/dev/i2c-N`, through the `i2c-bus` package's SMBus calls. */
class LinuxBus implements I2cBus {
  readonly path: string;
  readonly #native: NativePromisifiedBus;
  #closed = false;

  constructor(path: string, native: NativePromisifiedBus) {
    this.path = path;
    this.#native = native;
  }

  async writeI2cBlock(address: number, register: number, data: Uint8Array): Promise<void> {
    checkBlockWrite(address, register, data);
    this.#checkOpen(address);
    const buffer = Buffer.from(data.buffer, data.byteOffset, data.length);
    try {
      await this.#native.writeI2cBlock(address, register, data.length, buffer);
    } catch (error) {
      const code = errnoCode(error);
      throw new I2cBusError(
        `I2C block write to ${hex(address)} register ${hex(register)} on ${this.path} failed: ${code}.`,
        { code, path: this.path, address, cause: error },
      );
    }
  }

  async writeQuick(address: number): Promise<void> {
    checkInteger("address", address, 0x03, 0x77, "Use the device's 7-bit I2C address.");
    this.#checkOpen(address);
    try {
      await this.#native.writeQuick(address, 0);
    } catch (error) {
      const code = errnoCode(error);
      throw new I2cBusError(`Quick write to ${hex(address)} on ${this.path} failed: ${code}.`, {
        code,
        path: this.path,
        address,
        cause: error,
      });
    }
  }

  #checkOpen(address: number): void {
    if (this.#closed) {
      throw new I2cBusError(`Write on closed bus ${this.path}. Open it again first.`, {
        code: "EBADF",
        path: this.path,
        address,
      });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    await this.#native.close();
  }
}

/**
 * Opens `/dev/i2c-<busNumber>`.
 *
 * @throws I2cAddonError when the `i2c-bus` addon is not available.
 * @throws I2cBusError with the errno name (`ENOENT`, `EACCES`, `EPERM`…) when the open fails.
 */
export async function openLinuxBus(busNumber: number): Promise<I2cBus> {
  checkInteger("busNumber", busNumber, 0, 255, "Use N of /dev/i2c-N, usually 1 on a Raspberry Pi.");
  const path = i2cDevicePath(busNumber);
  // i2c-bus opens the device only on the first transfer, so open it here once to report
  // ENOENT, EACCES or EPERM at start-up rather than on the first frame.
  try {
    const handle = await open(path, "r+");
    await handle.close();
  } catch (error) {
    const code = errnoCode(error);
    throw new I2cBusError(`Opening ${path} failed: ${code}.`, { code, path, cause: error });
  }
  const addon = await loadAddon();
  try {
    return new LinuxBus(path, await addon.openPromisified(busNumber));
  } catch (error) {
    const code = errnoCode(error);
    throw new I2cBusError(`Opening ${path} failed: ${code}.`, { code, path, cause: error });
  }
}
