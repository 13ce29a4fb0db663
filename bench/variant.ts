/**
 * Runs the CPU visualiser through `runCpu` with the defaults of `glitter cpu`: bar style,
 * brightness 96, gamma 2.2, refresh every 10 s. The /proc/stat reader and the bus can be
 * swapped, so that a change to src/ can be measured without editing src/:
 *
 *   node dist/bench/variant.js READER BOARD VIEW INTERVAL_MS FRAMES
 *
 * READER  src: the reader glitter uses (`procStatReader`, which calls `readFileSync`);
 *         promises: fs/promises `readFile` and the same `parseProcStat`, the reader glitter
 *         had before the bench showed that it cost more;
 *         synthetic: no file read at all, made-up counters through the same parse, so that the
 *         rest of a frame's cost shows.
 * BOARD   emulated: the app's emulated board;
 *         bus:N: the app's `openBoard({ bus: N })`, which closes /dev/i2c-N 100 ms after each
 *         transfer and opens it again for the next frame;
 *         kept-open:N: /dev/i2c-N through the same i2c-bus calls, opened once and kept open.
 * VIEW    none or json, as `--view`.
 */
import { readFile } from "node:fs/promises";
import { emulatedBoard, openBoard, type OpenBoard } from "../src/apps/board.js";
import { runCpu } from "../src/apps/cpu.js";
import { createLogger } from "../src/apps/log.js";
import { jsonView, noView } from "../src/apps/views.js";
import { checkBlockWrite, type I2cBus } from "../src/bus/bus.js";
import { CountingBus } from "../src/bus/counting.js";
import { Sn3218 } from "../src/chip/sn3218.js";
import { parseProcStat, type CpuStatReader } from "../src/sources/proc-stat.js";

const USAGE =
  "Usage: node dist/bench/variant.js src|promises|synthetic emulated|bus:N|kept-open:N " +
  "none|json INTERVAL_MS FRAMES";

function reader(name: string): CpuStatReader | undefined {
  switch (name) {
    case "src":
      return undefined;
    case "promises":
      return async () => parseProcStat(await readFile("/proc/stat", "utf8"));
    case "synthetic": {
      // A 2-core machine at a steady 50 % load, advancing 10 ticks a call.
      let ticks = 0;
      return () => {
        ticks += 10;
        const line = (cpu: string): string => `${cpu} ${ticks} 0 0 ${ticks} 0 0 0 0 0 0`;
        const text = [line("cpu"), line("cpu0"), line("cpu1")].join("\n");
        return Promise.resolve(parseProcStat(text));
      };
    }
    default:
      throw new Error(USAGE);
  }
}

/** The part of the `i2c-bus` package's promisified bus that the kept-open bus uses. */
interface NativeBus {
  writeI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<unknown>;
  writeQuick(address: number, bit: number): Promise<unknown>;
  close(): Promise<void>;
}

/** /dev/i2c-N opened once through i2c-bus and kept open until close, with no retry logic. */
async function openKeptOpenBus(busNumber: number): Promise<I2cBus> {
  const specifier = "i2c-bus";
  const addon = (await import(specifier)) as {
    default: { openPromisified(busNumber: number): Promise<NativeBus> };
  };
  const native = await addon.default.openPromisified(busNumber);
  return {
    path: `/dev/i2c-${busNumber}`,
    async writeI2cBlock(address, register, data) {
      checkBlockWrite(address, register, data);
      await native.writeI2cBlock(address, register, data.length, Buffer.from(data));
    },
    async writeQuick(address) {
      await native.writeQuick(address, 0);
    },
    close: () => native.close(),
  };
}

async function board(name: string): Promise<OpenBoard> {
  if (name === "emulated") {
    return emulatedBoard(undefined);
  }
  const match = /^(bus|kept-open):(\d+)$/.exec(name);
  const busNumber = Number(match?.[2]);
  if (match === null || !Number.isInteger(busNumber)) {
    throw new Error(USAGE);
  }
  if (match[1] === "bus") {
    return openBoard({ bus: busNumber });
  }
  const counting = new CountingBus(await openKeptOpenBus(busNumber));
  const driver = new Sn3218(counting);
  return {
    emulated: false,
    path: counting.path,
    notice: undefined,
    driver,
    traffic: counting.count,
    latchedPwm: () => driver.latchedPwm().map((value) => value ?? 0),
    explain: (error) => error,
    close: () => counting.close(),
  };
}

async function main(argv: readonly string[]): Promise<void> {
  const [readerName = "", boardName = "", viewName = "", intervalText, framesText] = argv;
  const intervalMs = Number(intervalText);
  const frames = Number(framesText);
  if (!["none", "json"].includes(viewName) || !Number.isInteger(intervalMs) || !(frames >= 1)) {
    throw new Error(USAGE);
  }
  const readCpu = reader(readerName);
  const opened = await board(boardName);
  await runCpu(
    {
      board: {},
      intervalMs,
      style: "bar",
      visual: { brightness: 96, gamma: 2.2 },
      frames,
      keepOnExit: false,
      refreshSeconds: 10,
    },
    {
      log: createLogger({ pretty: false }),
      signal: new AbortController().signal,
      createView: () => (viewName === "json" ? jsonView(process.stdout) : noView()),
      openBoard: () => Promise.resolve(opened),
      ...(readCpu === undefined ? {} : { readCpu }),
    },
  );
}

await main(process.argv.slice(2));
