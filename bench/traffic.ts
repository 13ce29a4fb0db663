/**
 * Bus traffic of the SN3218 driver on the emulated bus, counted from the transactions that the
 * emulated bus records (not from the driver's own counters), and the bus time those bytes take.
 */
import { emulatedBoard, type OpenBoard } from "../src/apps/board.js";
import { clearBoard, FrameSender, initialiseBoard } from "../src/apps/session.js";
import { createLogger } from "../src/apps/log.js";
import { createEmulatedPiGlow, type EmulatedBus } from "../src/bus/emulated.js";
import type { EmulatedSn3218 } from "../src/bus/emulated-sn3218.js";
import { planWrites, type RegisterImage } from "../src/chip/plan.js";

export const CHANNELS = 18;

/** Bus transactions and wire bytes (address + register + data bytes). */
export interface Traffic {
  readonly transactions: number;
  readonly wireBytes: number;
}

/** The app's emulated board, with the emulated bus and chip behind it kept for inspection. */
export interface BenchBoard {
  readonly board: OpenBoard;
  readonly bus: EmulatedBus;
  readonly chip: EmulatedSn3218;
}

export function createBenchBoard(): BenchBoard {
  const piglow = createEmulatedPiGlow();
  return { board: emulatedBoard(undefined, piglow), ...piglow };
}

/**
 * Runs `action` and returns the traffic it caused, counted from the emulated bus's logs. Each
 * acknowledged transfer is one transaction. A block write puts 2 + data bytes on the wire
 * (address byte with the write bit, register byte, data), and a quick command 1. Fails if the
 * board's own counter, which `--view json` prints, counted differently.
 */
export async function measureTraffic(
  bench: BenchBoard,
  action: () => Promise<unknown>,
): Promise<Traffic> {
  const firstBlock = bench.bus.transactions.length;
  const firstQuick = bench.bus.quickWrites.length;
  const countedBefore = { ...bench.board.traffic };
  await action();
  const blocks = bench.bus.transactions.slice(firstBlock).filter((t) => t.error === undefined);
  const quick = bench.bus.quickWrites.slice(firstQuick).filter((q) => q.error === undefined);
  const traffic: Traffic = {
    transactions: blocks.length + quick.length,
    wireBytes: blocks.reduce((sum, t) => sum + 2 + t.data.length, 0) + quick.length,
  };
  const counted = {
    transactions: bench.board.traffic.transactions - countedBefore.transactions,
    wireBytes: bench.board.traffic.wireBytes - countedBefore.wireBytes,
  };
  if (counted.transactions !== traffic.transactions || counted.wireBytes !== traffic.wireBytes) {
    throw new Error(
      `The board counted ${JSON.stringify(counted)} where the bus log shows ` +
        `${JSON.stringify(traffic)}.`,
    );
  }
  return traffic;
}

/**
 * Bit times on the wire: 9 per byte (8 data bits and the acknowledge bit) plus a START and a
 * STOP condition per transaction, each counted as one bit time. Clock stretching, the gap
 * between transactions and the host's per-transfer software overhead are not included, so real
 * transfers take longer.
 */
export function bitTimes(traffic: Traffic): number {
  return 9 * traffic.wireBytes + 2 * traffic.transactions;
}

/** Milliseconds on a bus clocked at `hertz`. */
export function busMs(traffic: Traffic, hertz: number): number {
  return (1000 * bitTimes(traffic)) / hertz;
}

export const BUS_SPEEDS = [100_000, 400_000] as const;

/** Frames every LED at `value`. */
export function uniformFrame(value: number): number[] {
  return new Array<number>(CHANNELS).fill(value);
}

/** One traffic figure of the table. */
export interface TrafficFigure {
  readonly name: string;
  /** Per event; for the idle figure, per second. */
  readonly traffic: Traffic;
  /** Set when repeated events did not all cost the same: the range seen. */
  readonly range?: { readonly min: Traffic; readonly max: Traffic };
  readonly note: string;
}

function sameTraffic(list: readonly Traffic[]): { min: Traffic; max: Traffic } | undefined {
  const bytes = list.map((t) => t.wireBytes);
  const transactions = list.map((t) => t.transactions);
  const min = { transactions: Math.min(...transactions), wireBytes: Math.min(...bytes) };
  const max = { transactions: Math.max(...transactions), wireBytes: Math.max(...bytes) };
  return min.wireBytes === max.wireBytes && min.transactions === max.transactions
    ? undefined
    : { min, max };
}

/**
 * Library figures: start-up, a full-board change, a one-LED change, an unchanged frame, the
 * periodic refresh and what it costs per idle second, and the clear at exit.
 */
export async function measureLibraryTraffic(refreshSeconds: number): Promise<TrafficFigure[]> {
  const log = createLogger({ level: "silent", pretty: false });
  const bench = createBenchBoard();
  const sender = new FrameSender(bench.board, log);
  const figures: TrafficFigure[] = [];

  const startup = await measureTraffic(bench, () => initialiseBoard(bench.board));
  figures.push({
    name: "start-up (reset, enable, dark frame)",
    traffic: startup,
    note: "once per run",
  });

  // Every LED changes on every frame: 30 and 60 alternate, 20 times.
  const fullChanges: Traffic[] = [];
  for (let index = 0; index < 20; index += 1) {
    const frame = uniformFrame(index % 2 === 0 ? 30 : 60);
    fullChanges.push(await measureTraffic(bench, () => sender.send(frame)));
  }
  figures.push({
    name: "full-board change",
    traffic: fullChanges[0] ?? { transactions: 0, wireBytes: 0 },
    ...optionalRange(sameTraffic(fullChanges)),
    note: "all 18 LEDs differ from the last frame; 20 frames",
  });

  // One LED changes: each channel in turn goes 30 -> 31 and back.
  const oneChanges: Traffic[] = [];
  await sender.send(uniformFrame(30));
  for (let channel = 0; channel < CHANNELS; channel += 1) {
    const changed = uniformFrame(30);
    changed[channel] = 31;
    oneChanges.push(await measureTraffic(bench, () => sender.send(changed)));
    oneChanges.push(await measureTraffic(bench, () => sender.send(uniformFrame(30))));
  }
  figures.push({
    name: "one-LED change",
    traffic: oneChanges[0] ?? { transactions: 0, wireBytes: 0 },
    ...optionalRange(sameTraffic(oneChanges)),
    note: "each of the 18 channels, up and back",
  });

  // The same frame again at 10 frames per second for one second.
  const idle = await measureTraffic(bench, async () => {
    for (let index = 0; index < 10; index += 1) {
      await sender.send(uniformFrame(30));
    }
  });
  figures.push({
    name: "unchanged frame, per second",
    traffic: idle,
    note: "10 sends of the same frame, no refresh due",
  });

  const refresh = await measureTraffic(bench, () => sender.send(uniformFrame(30), true));
  figures.push({
    name: "refresh (rewrite of every register)",
    traffic: refresh,
    note: `glitter cpu sends one every --refresh seconds, ${refreshSeconds} by default`,
  });
  if (refreshSeconds > 0) {
    figures.push({
      name: "idle, per second, with refresh",
      traffic: {
        transactions: refresh.transactions / refreshSeconds,
        wireBytes: refresh.wireBytes / refreshSeconds,
      },
      note: `one refresh per ${refreshSeconds} s while the picture stands still; --refresh 0: 0`,
    });
  }

  const clear = await measureTraffic(bench, () => clearBoard(bench.board));
  figures.push({
    name: "clear at exit (from all lit)",
    traffic: clear,
    note: "session.ts clearBoard: shutdown, PWM 0, latch",
  });
  checkDark(bench.chip, "clearBoard");
  return figures;
}

function optionalRange(range: { min: Traffic; max: Traffic } | undefined): {
  range?: { min: Traffic; max: Traffic };
} {
  return range === undefined ? {} : { range };
}

function checkDark(chip: EmulatedSn3218, what: string): void {
  const state = chip.state();
  if (!state.shutdown || state.visible.some((value) => value !== 0)) {
    throw new Error(`${what} left the emulated chip lit: ${JSON.stringify(state)}.`);
  }
}

/**
 * Measures the clear at exit from a lit board in two ways. `clearBoard` writes the shutdown
 * register, the PWM bytes that are not already 0 and the latch. The Reset Register instead
 * returns every register to its power-up default (software shutdown, PWM 0, LEDs disabled) in
 * one 1-byte write. Both must leave the chip dark and shut down.
 */
export async function measureClearExperiment(): Promise<{ before: Traffic; after: Traffic }> {
  const log = createLogger({ level: "silent", pretty: false });
  const current = createBenchBoard();
  await initialiseBoard(current.board);
  await new FrameSender(current.board, log).send(uniformFrame(30));
  const before = await measureTraffic(current, () => clearBoard(current.board));
  checkDark(current.chip, "clearBoard");

  const proposed = createBenchBoard();
  await initialiseBoard(proposed.board);
  await new FrameSender(proposed.board, log).send(uniformFrame(30));
  const after = await measureTraffic(proposed, () => proposed.board.driver.reset());
  checkDark(proposed.chip, "a reset");
  return { before, after };
}

// ---------------------------------------------------------------------------------------------
// Is the planner's plan the cheapest the protocol allows?

const SHUTDOWN = 0x00;
const UPDATE = 0x16;
const IMAGE_SIZE = 0x16;

/** Cost in bit times of a plan of block writes: 20 per transaction, 9 per data byte. */
function planBits(writes: readonly { data: readonly number[] }[]): number {
  return writes.reduce((sum, write) => sum + 20 + 9 * write.data.length, 0);
}

/**
 * Computes the cheapest cost in bit times of bringing registers `shadow` to `wanted`, by
 * dynamic programming over every way to cover the registers that must change with ascending
 * block writes. The rules are the ones the driver obeys. The latch (0x16) goes in the last
 * write, so it follows every buffered byte. A register may be written as filler only when its
 * value is known. A shutdown register that turns the chip off may share the first write. One
 * that turns it on must follow the latch, so it is a write of its own, because the register
 * pointer only counts up.
 */
export function optimalBits(shadow: RegisterImage, wanted: RegisterImage): number {
  const needs = (register: number): boolean =>
    wanted[register] !== undefined && wanted[register] !== shadow[register];
  const known = (register: number): boolean =>
    register === UPDATE || wanted[register] !== undefined || shadow[register] !== undefined;

  const buffered: number[] = [];
  for (let register = 0x01; register < IMAGE_SIZE; register += 1) {
    if (needs(register)) {
      buffered.push(register);
    }
  }
  const turningOn = needs(SHUTDOWN) && ((wanted[SHUTDOWN] ?? 0) & 0x01) === 1;
  const turningOff = needs(SHUTDOWN) && !turningOn;
  const required = [...(turningOff ? [SHUTDOWN] : []), ...buffered];
  if (buffered.length > 0) {
    required.push(UPDATE);
  }
  // best[i]: cheapest cost that covers required[0..i-1].
  const best = new Array<number>(required.length + 1).fill(Number.POSITIVE_INFINITY);
  best[0] = 0;
  for (let end = 0; end < required.length; end += 1) {
    const last = required[end] ?? 0;
    for (let start = end; start >= 0; start -= 1) {
      const first = required[start] ?? 0;
      let fillable = true;
      for (let register = first; register <= last; register += 1) {
        fillable &&= known(register);
      }
      if (!fillable) {
        break;
      }
      const cost = (best[start] ?? Number.POSITIVE_INFINITY) + 20 + 9 * (last - first + 1);
      if (cost < (best[end + 1] ?? Number.POSITIVE_INFINITY)) {
        best[end + 1] = cost;
      }
    }
  }
  return (best[required.length] ?? Number.POSITIVE_INFINITY) + (turningOn ? 29 : 0);
}

/** Deterministic pseudo-random numbers (mulberry32), so every run checks the same cases. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Comparison of the planner's cost with the optimum over one kind of case. */
export interface PlanCheck {
  readonly kind: string;
  readonly cases: number;
  /** Cases where the planner cost more bit times than the optimum. */
  readonly worse: number;
  readonly maxExcessBits: number;
}

/**
 * Compares `planWrites` with {@link optimalBits} on 3 kinds of pseudo-random case:
 * frame changes on a chip whose registers are all known (what `glitter cpu` sends), writes onto
 * a chip whose registers are unknown (the first write of `glitter set`, or after a bus failure),
 * and updates that also turn the chip off (`clearBoard`, `glitter off`).
 */
export function checkPlanner(casesPerKind: number): PlanCheck[] {
  const next = random(0x5eed);
  const byte = (): number => Math.floor(next() * 256);
  const litControl = [0x3f, 0x3f, 0x3f];
  const baseImage = (): (number | undefined)[] => [
    0x01,
    ...Array.from({ length: CHANNELS }, byte),
    ...litControl,
  ];
  const changeSome = (image: (number | undefined)[]): (number | undefined)[] => {
    const wanted = [...image];
    const count = 1 + Math.floor(next() * CHANNELS);
    for (let index = 0; index < count; index += 1) {
      const register = 1 + Math.floor(next() * CHANNELS);
      wanted[register] = ((image[register] ?? 0) + 1 + Math.floor(next() * 255)) % 256;
    }
    return wanted;
  };

  const kinds: { kind: string; make: () => [RegisterImage, RegisterImage] }[] = [
    {
      kind: "frame change, registers known",
      make: () => {
        const shadow = baseImage();
        return [shadow, changeSome(shadow)];
      },
    },
    {
      kind: "write onto unknown registers",
      make: () => {
        const shadow = new Array<number | undefined>(IMAGE_SIZE).fill(undefined);
        const wanted = new Array<number | undefined>(IMAGE_SIZE).fill(undefined);
        wanted[SHUTDOWN] = 0x01;
        for (let register = 0x13; register <= 0x15; register += 1) {
          wanted[register] = 0x3f;
        }
        for (let register = 1; register <= CHANNELS; register += 1) {
          if (next() < 0.5) {
            wanted[register] = byte();
          }
        }
        return [shadow, wanted];
      },
    },
    {
      kind: "change that turns the chip off",
      make: () => {
        const shadow = baseImage();
        const wanted = changeSome(shadow);
        wanted[SHUTDOWN] = 0x00;
        return [shadow, wanted];
      },
    },
  ];

  return kinds.map(({ kind, make }) => {
    let worse = 0;
    let maxExcessBits = 0;
    for (let index = 0; index < casesPerKind; index += 1) {
      const [shadow, wanted] = make();
      const excess = planBits(planWrites(shadow, wanted)) - optimalBits(shadow, wanted);
      if (excess > 0) {
        worse += 1;
        maxExcessBits = Math.max(maxExcessBits, excess);
      }
      if (excess < 0) {
        throw new Error(
          `The optimum check is wrong: the planner beat it for ${JSON.stringify({ shadow, wanted })}.`,
        );
      }
    }
    return { kind, cases: casesPerKind, worse, maxExcessBits };
  });
}
