import { I2cBusError, type I2cBus } from "./bus.js";

/**
 * Wraps a bus that can disappear and come back, such as `/dev/i2c-N` when its adapter's module
 * is unloaded and loaded again. After any failed transfer it closes the inner bus, and the next
 * transfer opens it anew; an open that fails throws that error, so callers see one failure per
 * attempt and can back off.
 */
export class ReopeningBus implements I2cBus {
  readonly path: string;
  readonly #open: () => Promise<I2cBus>;
  #inner: I2cBus | undefined;
  #closed = false;
  /** How many times the bus was opened again after a failure; for logs and tests. */
  reopenCount = 0;

  constructor(path: string, open: () => Promise<I2cBus>, inner?: I2cBus) {
    this.path = path;
    this.#open = open;
    this.#inner = inner;
  }

  writeI2cBlock(address: number, register: number, data: Uint8Array): Promise<void> {
    return this.#attempt((bus) => bus.writeI2cBlock(address, register, data));
  }

  writeQuick(address: number): Promise<void> {
    return this.#attempt((bus) => bus.writeQuick(address));
  }

  async #attempt(transfer: (bus: I2cBus) => Promise<void>): Promise<void> {
    let bus = this.#inner;
    if (bus === undefined && !this.#closed) {
      bus = await this.#open();
      this.#inner = bus;
      this.reopenCount += 1;
    }
    if (bus === undefined) {
      throw new I2cBusError(`Write on closed bus ${this.path}. Open it again first.`, {
        code: "EBADF",
        path: this.path,
      });
    }
    try {
      await transfer(bus);
    } catch (error) {
      if (error instanceof RangeError || error instanceof TypeError) {
        throw error;
      }
      this.#inner = undefined;
      await bus.close().catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const bus = this.#inner;
    this.#inner = undefined;
    await bus?.close();
  }
}
