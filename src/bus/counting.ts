import type { I2cBus } from "./bus.js";

/** Bus traffic totals; `wireBytes` counts address, register and data bytes as sent on the wire. */
export interface TrafficCount {
  transactions: number;
  wireBytes: number;
  failures: number;
}

/** Wraps any {@link I2cBus} and counts what goes through it, on hardware and emulator alike. */
export class CountingBus implements I2cBus {
  readonly #inner: I2cBus;
  readonly count: TrafficCount = { transactions: 0, wireBytes: 0, failures: 0 };

  constructor(inner: I2cBus) {
    this.#inner = inner;
  }

  get path(): string {
    return this.#inner.path;
  }

  async writeI2cBlock(address: number, register: number, data: Uint8Array): Promise<void> {
    try {
      await this.#inner.writeI2cBlock(address, register, data);
    } catch (error) {
      this.count.failures += 1;
      throw error;
    }
    this.count.transactions += 1;
    this.count.wireBytes += 2 + data.length;
  }

  async writeQuick(address: number): Promise<void> {
    try {
      await this.#inner.writeQuick(address);
    } catch (error) {
      this.count.failures += 1;
      throw error;
    }
    this.count.transactions += 1;
    this.count.wireBytes += 1;
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
