import { checkAddress, checkBlockWrite, hex, I2cBusError, type I2cBus } from "./bus.js";
import { EmulatedSn3218, Sn3218RejectError, SN3218_ADDRESS } from "./emulated-sn3218.js";

/** A device on the emulated bus: receives every block write addressed to it. */
export interface EmulatedDevice {
  write(register: number, data: Uint8Array): void;
}

/** One attempted block write, in the order it happened. */
export interface Transaction {
  readonly address: number;
  readonly register: number;
  readonly data: readonly number[];
  /** The errno name when the transfer failed; absent when the device acknowledged it. */
  readonly error?: string;
}

/** The errno name an emulated bus reports when no device acknowledges (as on a Raspberry Pi). */
export const EMULATED_NACK_CODE = "EREMOTEIO";

/**
 * An I2C bus in memory. It records every transaction, delivers writes to the devices attached
 * to it, and fails as a Linux adapter would: a NACK for an address where no device acknowledges or
 * for a transfer the device rejects, EBADF after close. Faults can be injected for tests.
 */
export class EmulatedBus implements I2cBus {
  readonly path = "emulated";
  readonly transactions: Transaction[] = [];
  /** Quick commands, kept apart because they carry no register or data. */
  readonly quickWrites: { readonly address: number; readonly error?: string }[] = [];
  readonly #devices = new Map<number, EmulatedDevice>();
  readonly #unplugged = new Set<number>();
  #pendingFaults: string[] = [];
  #closed = false;

  /** Attaches `device` at `address`, replacing any device there. */
  attach(address: number, device: EmulatedDevice): void {
    this.#devices.set(address, device);
  }

  /** Makes the next `count` transfers fail with the errno name `code` without reaching a device. */
  failNext(count: number, code = "EIO"): void {
    for (let index = 0; index < count; index += 1) {
      this.#pendingFaults.push(code);
    }
  }

  /** Stops the device at `address` from acknowledging until {@link replug}, as if removed. */
  unplug(address: number): void {
    this.#unplugged.add(address);
  }

  /** Lets the device at `address` acknowledge again. */
  replug(address: number): void {
    this.#unplugged.delete(address);
  }

  writeI2cBlock(address: number, register: number, data: Uint8Array): Promise<void> {
    const bytes = data instanceof Uint8Array ? Array.from(data) : [];
    try {
      checkBlockWrite(address, register, data);
      this.#deliver(address, register, data);
    } catch (error) {
      if (error instanceof I2cBusError) {
        this.transactions.push({ address, register, data: bytes, error: error.code });
      }
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.transactions.push({ address, register, data: bytes });
    return Promise.resolve();
  }

  writeQuick(address: number): Promise<void> {
    try {
      checkAddress(address);
      this.#acknowledge(address);
    } catch (error) {
      if (error instanceof I2cBusError) {
        this.quickWrites.push({ address, error: error.code });
      }
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.quickWrites.push({ address });
    return Promise.resolve();
  }

  /** Fails as the adapter would when `address` gets no acknowledgement; returns its device. */
  #acknowledge(address: number): EmulatedDevice {
    if (this.#closed) {
      throw new I2cBusError("Write on a closed emulated bus. Open a new bus first.", {
        code: "EBADF",
        path: this.path,
        address,
      });
    }
    const fault = this.#pendingFaults.shift();
    if (fault !== undefined) {
      throw new I2cBusError(`Injected ${fault} on the emulated bus.`, {
        code: fault,
        path: this.path,
        address,
      });
    }
    const device = this.#devices.get(address);
    if (device === undefined || this.#unplugged.has(address)) {
      throw new I2cBusError(`No device acknowledged address ${hex(address)} on the emulated bus.`, {
        code: EMULATED_NACK_CODE,
        path: this.path,
        address,
      });
    }
    return device;
  }

  #deliver(address: number, register: number, data: Uint8Array): void {
    const device = this.#acknowledge(address);
    try {
      device.write(register, data);
    } catch (error) {
      if (error instanceof Sn3218RejectError) {
        throw new I2cBusError(
          `The device at ${hex(address)} rejected the write: ${error.message}`,
          {
            code: EMULATED_NACK_CODE,
            path: this.path,
            address,
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}

/** Creates an emulated bus with an emulated SN3218 at 0x54, as on a PiGlow. */
export function createEmulatedPiGlow(): { bus: EmulatedBus; chip: EmulatedSn3218 } {
  const bus = new EmulatedBus();
  const chip = new EmulatedSn3218();
  bus.attach(SN3218_ADDRESS, chip);
  return { bus, chip };
}
