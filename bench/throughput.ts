/**
 * Frame rates: the driver on the emulated bus in a tight loop, and the CLI at its smallest
 * interval, whose JSON lines are also replayed through the library to confirm the bus figures.
 */
import { FrameSender, initialiseBoard, clearBoard } from "../src/apps/session.js";
import { createLogger } from "../src/apps/log.js";
import { checkExit, runCli, runLimited } from "./child.js";
import { summarize, type Summary } from "./stats.js";
import {
  CHANNELS,
  createBenchBoard,
  measureTraffic,
  uniformFrame,
  type Traffic,
} from "./traffic.js";

/**
 * Frames per second that `driver.setAllPwm` + `driver.update()` reach on the emulated bus when
 * each frame differs from the last by `changed` LEDs (18 or 1), over `frames` frames after a
 * warm-up of the same length.
 */
async function driverLoopRate(changed: number, frames: number): Promise<number> {
  const { board, bus } = createBenchBoard();
  await initialiseBoard(board);
  const driver = board.driver;
  const even = uniformFrame(30);
  const odd = uniformFrame(30).map((value, channel) => (channel < changed ? value + 1 : value));
  const send = async (index: number): Promise<void> => {
    driver.setAllPwm(index % 2 === 0 ? even : odd);
    await driver.update();
  };
  for (let index = 0; index < frames; index += 1) {
    await send(index);
  }
  bus.transactions.length = 0;
  const started = performance.now();
  for (let index = 0; index < frames; index += 1) {
    await send(index);
  }
  const elapsedMs = performance.now() - started;
  // The emulated bus logs every transaction; dropping the log keeps memory flat across runs.
  bus.transactions.length = 0;
  return (1000 * frames) / elapsedMs;
}

export interface LoopRates {
  readonly fullBoardFps: Summary;
  readonly oneLedFps: Summary;
  readonly framesPerRun: number;
}

export async function measureDriverLoop(runs: number, framesPerRun: number): Promise<LoopRates> {
  const full: number[] = [];
  const one: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    full.push(await driverLoopRate(CHANNELS, framesPerRun));
    one.push(await driverLoopRate(1, framesPerRun));
  }
  return { fullBoardFps: summarize(full), oneLedFps: summarize(one), framesPerRun };
}

/** One `--view json` line, as far as the bench reads it. */
interface JsonFrame {
  readonly frame: number;
  readonly pwm: readonly number[];
  readonly reading: unknown;
  readonly bus: Traffic;
}

function parseFrame(line: string): JsonFrame {
  const value = JSON.parse(line) as Partial<JsonFrame>;
  if (
    typeof value.frame !== "number" ||
    !Array.isArray(value.pwm) ||
    typeof value.bus?.transactions !== "number" ||
    typeof value.bus.wireBytes !== "number"
  ) {
    throw new Error(`Not a glitter --view json line: ${line}`);
  }
  return value as JsonFrame;
}

/** Figures from the CLI's JSON lines, and the outcome of replaying them through the library. */
export interface CliFrames {
  readonly args: readonly string[];
  readonly runs: number;
  readonly framesPerRun: number;
  /** Frames per second between the first and the last lit frame's line. */
  readonly fps: Summary;
  /** Lit frames whose picture equalled the one before, over all runs. */
  readonly unchangedFrames: number;
  /** The traffic of those frames that were not refreshes: zero when nothing is wasted. */
  readonly unchangedTraffic: Traffic;
  readonly changedFrames: number;
  /** Cost of one changed frame that was not a refresh, over all runs. */
  readonly changedBytes: Summary | undefined;
  readonly changedTransactions: Summary | undefined;
  /** Frames whose traffic matched a refresh (every register rewritten), and their cost. */
  readonly refreshes: number;
  readonly refreshTraffic: Traffic | undefined;
  /** Bus traffic per second from the first to the last lit frame; depends on the load. */
  readonly bytesPerSecond: Summary;
  readonly transactionsPerSecond: Summary;
  /** Start-up and the first frame, from the first line, as the CLI counted it. */
  readonly firstLine: Traffic;
  /** Lines whose cumulative counts matched a replay of the same frames through the library. */
  readonly replayedLines: number;
  readonly replayMismatches: readonly string[];
}

/** One frame's traffic in the replay, sent normally and as a refresh. */
interface ReplayedFrame {
  readonly normal: Traffic;
  readonly refresh: Traffic;
}

const sameCost = (a: Traffic, b: Traffic): boolean =>
  a.transactions === b.transactions && a.wireBytes === b.wireBytes;

/**
 * Replays one CLI run's frames through the app's session code and returns the cost of each
 * frame sent normally and sent as a refresh. Two emulated boards run in step, one for each way.
 * After every frame both chips and both shadow copies contain the same values, so each frame
 * starts from the state the CLI had. Index 0 is start-up. The cleared frame has no refresh
 * cost of its own.
 */
async function replay(frames: readonly JsonFrame[]): Promise<ReplayedFrame[]> {
  const log = createLogger({ level: "silent", pretty: false });
  const normal = createBenchBoard();
  const refresh = createBenchBoard();
  const normalSender = new FrameSender(normal.board, log);
  const refreshSender = new FrameSender(refresh.board, log);
  const startup = await measureTraffic(normal, () => initialiseBoard(normal.board));
  await measureTraffic(refresh, () => initialiseBoard(refresh.board));
  const costs: ReplayedFrame[] = [{ normal: startup, refresh: startup }];
  for (const frame of frames) {
    if (frame.reading === null) {
      const cleared = await measureTraffic(normal, () => clearBoard(normal.board));
      await measureTraffic(refresh, () => clearBoard(refresh.board));
      costs.push({ normal: cleared, refresh: cleared });
      continue;
    }
    costs.push({
      normal: await measureTraffic(normal, () => normalSender.send(frame.pwm)),
      refresh: await measureTraffic(refresh, () => refreshSender.send(frame.pwm, true)),
    });
  }
  return costs;
}

/**
 * Runs `glitter cpu --emulate --view json ARGS --interval S --frames N` `runs` times, at most
 * `parallel` at once, and derives frame rate and per-frame traffic from the lines. Every line's
 * traffic must equal the library replay's cost for that frame, sent normally or as a refresh.
 */
export async function measureCliFrames(
  extraArgs: readonly string[],
  runs: number,
  framesPerRun: number,
  intervalS: number,
  parallel = 1,
): Promise<CliFrames> {
  const args = [
    "cpu",
    "--emulate",
    "--view",
    "json",
    ...extraArgs,
    "--interval",
    String(intervalS),
    "--frames",
    String(framesPerRun),
  ];
  const results = await runLimited(
    parallel,
    Array.from({ length: runs }, () => () => runCli(args).then(checkExit)),
  );

  const fps: number[] = [];
  const bytesPerSecond: number[] = [];
  const transactionsPerSecond: number[] = [];
  const changedBytes: number[] = [];
  const changedTransactions: number[] = [];
  const unchangedTraffic = { transactions: 0, wireBytes: 0 };
  let unchangedFrames = 0;
  let refreshes = 0;
  let refreshTraffic: Traffic | undefined;
  let replayedLines = 0;
  let firstLine: Traffic = { transactions: 0, wireBytes: 0 };
  const replayMismatches: string[] = [];

  for (const [run, result] of results.entries()) {
    const frames = result.lines.filter((line) => line.startsWith("{")).map(parseFrame);
    const lit = frames.filter((frame) => frame.reading !== null);
    if (lit.length !== framesPerRun) {
      throw new Error(`Expected ${framesPerRun} lit frames, got ${lit.length}.`);
    }
    const firstMs = result.lineTimesMs[0] ?? 0;
    const lastMs = result.lineTimesMs[lit.length - 1] ?? 0;
    const first = lit[0];
    const last = lit[lit.length - 1];
    if (first === undefined || last === undefined) {
      continue;
    }
    firstLine = first.bus;
    if (lit.length > 1) {
      const seconds = (lastMs - firstMs) / 1000;
      fps.push((lit.length - 1) / seconds);
      bytesPerSecond.push((last.bus.wireBytes - first.bus.wireBytes) / seconds);
      transactionsPerSecond.push((last.bus.transactions - first.bus.transactions) / seconds);
    }

    const replayed = await replay(frames);
    let previousBus: Traffic = { transactions: 0, wireBytes: 0 };
    frames.forEach((frame, index) => {
      const cost = {
        transactions: frame.bus.transactions - previousBus.transactions,
        wireBytes: frame.bus.wireBytes - previousBus.wireBytes,
      };
      previousBus = frame.bus;
      const expected = replayed[index + 1];
      const startup = replayed[0];
      if (expected === undefined || startup === undefined) {
        return;
      }
      const beforeFrame =
        index === 0
          ? {
              transactions: cost.transactions - startup.normal.transactions,
              wireBytes: cost.wireBytes - startup.normal.wireBytes,
            }
          : cost;
      const isRefresh =
        !sameCost(beforeFrame, expected.normal) && sameCost(beforeFrame, expected.refresh);
      if (!sameCost(beforeFrame, expected.normal) && !isRefresh) {
        replayMismatches.push(
          `run ${run + 1}, frame ${frame.frame}: CLI ${JSON.stringify(beforeFrame)}, replay ` +
            `${JSON.stringify(expected.normal)} (as a refresh ${JSON.stringify(expected.refresh)})`,
        );
        return;
      }
      replayedLines += 1;
      if (frame.reading === null || index === 0) {
        return;
      }
      if (isRefresh) {
        refreshes += 1;
        refreshTraffic = beforeFrame;
        return;
      }
      const previous = frames[index - 1];
      if (
        previous !== undefined &&
        frame.pwm.every((value, channel) => value === previous.pwm[channel])
      ) {
        unchangedFrames += 1;
        unchangedTraffic.transactions += beforeFrame.transactions;
        unchangedTraffic.wireBytes += beforeFrame.wireBytes;
      } else {
        changedBytes.push(beforeFrame.wireBytes);
        changedTransactions.push(beforeFrame.transactions);
      }
    });
  }

  return {
    args,
    runs,
    framesPerRun,
    fps: summarize(fps),
    unchangedFrames,
    unchangedTraffic,
    changedFrames: changedBytes.length,
    changedBytes: changedBytes.length === 0 ? undefined : summarize(changedBytes),
    changedTransactions:
      changedTransactions.length === 0 ? undefined : summarize(changedTransactions),
    refreshes,
    refreshTraffic,
    bytesPerSecond: summarize(bytesPerSecond),
    transactionsPerSecond: summarize(transactionsPerSecond),
    firstLine,
    replayedLines,
    replayMismatches,
  };
}
