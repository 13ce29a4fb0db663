import { open } from "node:fs/promises";
import { checkInteger } from "../core/check.js";
import { checkAddress, checkBlockWrite, hex, I2cBusError, type I2cBus } from "./bus.js";

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

/** Returns the Linux character device path of I2C bus `busNumber`. */
export function i2cDevicePath(busNumber: number): string {
  return `/dev/i2c-${busNumber}`;
}

/**
 * Milliseconds without a transfer after which the device file is closed. An open
 * `/dev/i2c-N` holds a reference on its adapter's kernel module, so releasing it between
 * frames lets the adapter driver be unloaded and loaded again under a running daemon. Reopening
 * costs one open() and one I2C_SLAVE ioctl per frame.
 */
const RELEASE_AFTER_IDLE_MS = 100;

/** A Linux I2C adapter, `/dev/i2c-N`, through the `i2c-bus` package's SMBus calls. */
class LinuxBus implements I2cBus {
  readonly path: string;
  readonly #busNumber: number;
  readonly #addon: NativeI2cModule;
  #native: NativePromisifiedBus | undefined;
  #releaseTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(path: string, busNumber: number, addon: NativeI2cModule) {
    this.path = path;
    this.#busNumber = busNumber;
    this.#addon = addon;
  }

  async writeI2cBlock(address: number, register: number, data: Uint8Array): Promise<void> {
    checkBlockWrite(address, register, data);
    const buffer = Buffer.from(data.buffer, data.byteOffset, data.length);
    await this.#transfer(
      address,
      `I2C block write to ${hex(address)} register ${hex(register)}`,
      async (native) => {
        await native.writeI2cBlock(address, register, data.length, buffer);
      },
    );
  }

  async writeQuick(address: number): Promise<void> {
    checkAddress(address);
    await this.#transfer(address, `Quick write to ${hex(address)}`, (native) =>
      native.writeQuick(address, 0),
    );
  }

  async #transfer(
    address: number,
    operation: string,
    run: (native: NativePromisifiedBus) => Promise<void>,
  ): Promise<void> {
    if (this.#closed) {
      throw new I2cBusError(`Write on closed bus ${this.path}. Open it again first.`, {
        code: "EBADF",
        path: this.path,
        address,
      });
    }
    clearTimeout(this.#releaseTimer);
    try {
      this.#native ??= await this.#addon.openPromisified(this.#busNumber);
      await run(this.#native);
    } catch (error) {
      const code = errnoCode(error);
      throw new I2cBusError(`${operation} on ${this.path} failed: ${code}.`, {
        code,
        path: this.path,
        address,
        cause: error,
      });
    } finally {
      this.#releaseTimer = setTimeout(() => void this.#release(), RELEASE_AFTER_IDLE_MS);
      this.#releaseTimer.unref();
    }
  }

  async #release(): Promise<void> {
    const native = this.#native;
    this.#native = undefined;
    await native?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearTimeout(this.#releaseTimer);
    await this.#release();
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
    throw new I2cBusError(`Opening ${path} failed: ${code}.`, {
      code,
      path,
      cause: error,
      operation: "open",
    });
  }
  return new LinuxBus(path, busNumber, await loadAddon());
}
