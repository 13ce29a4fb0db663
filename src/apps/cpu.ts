import { setTimeout as sleep } from "node:timers/promises";
import { CpuSampler, type CpuStatReader } from "../sources/proc-stat.js";
import { findStyle, type VisualOptions } from "../visuals/visuals.js";
import { openBoard, type BoardRequest, type OpenBoard } from "./board.js";
import type { Logger } from "./log.js";
import { clearBoard, FrameSender, initialiseBoard } from "./session.js";
import type { View } from "./views.js";

export interface CpuOptions {
  readonly board: BoardRequest;
  readonly intervalMs: number;
  readonly style: string;
  readonly visual: VisualOptions;
  /** Stop after this many frames; undefined runs until the signal aborts. */
  readonly frames: number | undefined;
  readonly keepOnExit: boolean;
  /** Seconds between full rewrites of every register, 0 for none; see {@link FrameSender}. */
  readonly refreshSeconds: number;
}

export interface CpuDependencies {
  readonly log: Logger;
  readonly createView: (board: OpenBoard) => View;
  /** Aborted by SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  readonly readCpu?: CpuStatReader;
  /** Opens the board; tests pass an emulated board with faults. */
  readonly openBoard?: (request: BoardRequest) => Promise<OpenBoard>;
}

/**
 * Runs the CPU visualiser: clears the board, then every interval samples the CPU, renders the
 * style and sends the frame, until `frames` are shown or the signal aborts. The board is cleared
 * on the way out unless `keepOnExit` is set.
 */
export async function runCpu(options: CpuOptions, deps: CpuDependencies): Promise<void> {
  const { log } = deps;
  const style = findStyle(options.style);
  const board = await (deps.openBoard ?? openBoard)(options.board);
  if (board.notice !== undefined) {
    log.info({ bus: board.path }, board.notice);
  }
  const view = deps.createView(board);
  try {
    await initialiseBoard(board);
  } catch (error) {
    view.close();
    await board.close();
    throw board.explain(error);
  }
  let shown = 0;
  try {
    log.info(
      { bus: board.path, style: options.style, intervalMs: options.intervalMs },
      "cpu visualiser started",
    );
    shown = await drawFrames(board, view, options, deps, style.render);
  } finally {
    await leave(board, view, options, log, shown + 1);
  }
}

async function drawFrames(
  board: OpenBoard,
  view: View,
  options: CpuOptions,
  deps: CpuDependencies,
  render: ReturnType<typeof findStyle>["render"],
): Promise<number> {
  const sampler = new CpuSampler(deps.readCpu);
  await sampler.next();
  const sender = new FrameSender(board, deps.log, options.refreshSeconds * 1000);
  let frame = 0;
  let due = Date.now() + options.intervalMs;
  while (options.frames === undefined || frame < options.frames) {
    try {
      await sleep(Math.max(0, due - Date.now()), undefined, { signal: deps.signal });
    } catch {
      return frame;
    }
    const reading = await sampler.next();
    if (reading === undefined) {
      continue;
    }
    const picture = render(reading, options.visual);
    const sent = await sender.send(picture.pwm);
    due = Math.max(due + options.intervalMs, Date.now());
    if (!sent) {
      due = Date.now() + sender.delay(options.intervalMs);
      continue;
    }
    frame += 1;
    view.show({
      frame,
      pwm: board.latchedPwm(),
      reading,
      style: options.style,
      bus: { ...board.traffic },
    });
  }
  return frame;
}

async function leave(
  board: OpenBoard,
  view: View,
  options: CpuOptions,
  log: Logger,
  clearedFrame: number,
): Promise<void> {
  let cleared = false;
  if (!options.keepOnExit) {
    try {
      await clearBoard(board);
      cleared = true;
      view.show({
        frame: clearedFrame,
        pwm: board.latchedPwm(),
        reading: undefined,
        style: options.style,
        bus: { ...board.traffic },
      });
    } catch (error) {
      log.error({ err: error, bus: board.path }, "clearing the LEDs at exit failed");
    }
  }
  view.close();
  await board.close();
  log.info({ bus: board.path, ...board.traffic, cleared }, "stopped");
}
