/**
 * Runs glitter (or another Node script) as a child process and records what a benchmark needs:
 * when each stdout line arrived, the exit status, and the child's own CPU and memory accounting
 * written by `probe.js` at exit.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isProbeReport, PROBE_ENV, TRACE_ENV, type ProbeReport } from "./probe-report.js";

/** The project folder, two levels above `dist/bench/`. */
export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The built CLI, as `npm run build` writes it. */
export const CLI_PATH = join(PROJECT_ROOT, "dist/src/cli.js");
const PROBE_PATH = fileURLToPath(new URL("./probe.js", import.meta.url));

/** A child that runs longer than this is killed, so a hung run cannot stall the bench. */
const CHILD_TIMEOUT_MS = 180_000;

/** Output, timing and accounting of one child run. */
export interface ChildRun {
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly lines: readonly string[];
  /** Milliseconds from just before `spawn()` to the arrival of each stdout line. */
  readonly lineTimesMs: readonly number[];
  /**
   * CPU time the child had used when each stdout line arrived, in milliseconds, summed over its
   * threads from /proc/PID/task/TID/schedstat; NaN where it could not be read.
   */
  readonly lineCpuMs: readonly number[];
  /** Milliseconds from just before `spawn()` to the child's exit. */
  readonly wallMs: number;
  readonly stderr: string;
  /** The child's own accounting at exit; present when the run asked for the probe. */
  readonly probe: ProbeReport | undefined;
  /** Module URLs and CJS file paths the child loaded; present when the run asked for a trace. */
  readonly modules: readonly string[] | undefined;
}

export interface ChildOptions {
  /** Load `probe.js` first, so the child reports its CPU time and peak memory at exit. */
  readonly probe?: boolean;
  /** Also record every module the child loads (adds a loader thread: never time such a run). */
  readonly trace?: boolean;
  /** Run the command inside `script(1)`, so the child's stdout and stderr are a terminal. */
  readonly terminal?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

let scratch: string | undefined;
let runCounter = 0;

function scratchFile(name: string): string {
  scratch ??= mkdtempSync(join(tmpdir(), "glitter-bench-"));
  runCounter += 1;
  return join(scratch, `${runCounter}-${name}`);
}

/** Deletes the temporary files of every run so far. */
export function removeScratch(): void {
  if (scratch !== undefined) {
    rmSync(scratch, { recursive: true, force: true });
    scratch = undefined;
  }
}

/** Quotes one argument for `sh -c`. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs `node [probe] SCRIPT ARGS...` and resolves when it has exited. Rejects only when the
 * child cannot be started; a non-zero exit is returned for the caller to judge.
 */
export function runNode(
  script: string,
  args: readonly string[],
  options: ChildOptions = {},
): Promise<ChildRun> {
  const probeFile =
    options.probe === true || options.trace === true ? scratchFile("probe.json") : "";
  const traceFile = options.trace === true ? scratchFile("trace.txt") : "";
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env["NODE_OPTIONS"];
  const nodeArgs: string[] = [];
  if (probeFile !== "") {
    nodeArgs.push("--import", PROBE_PATH);
    env[PROBE_ENV] = probeFile;
  }
  if (traceFile !== "") {
    env[TRACE_ENV] = traceFile;
  }
  const command = [process.execPath, ...nodeArgs, script, ...args];
  const [file, argv] =
    options.terminal === true
      ? ["script", ["-qec", command.map(shellQuote).join(" "), "/dev/null"]]
      : [process.execPath, command.slice(1)];

  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    const lineTimesMs: number[] = [];
    const lineCpuMs: number[] = [];
    let pending = "";
    let stderr = "";
    const started = performance.now();
    const child = spawn(file, argv, {
      cwd: PROJECT_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: CHILD_TIMEOUT_MS,
    });
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      const arrived = performance.now() - started;
      const parts = (pending + chunk).split("\n");
      pending = parts.pop() ?? "";
      const cpu = parts.length > 0 ? processCpuMs(child.pid) : Number.NaN;
      for (const line of parts) {
        lines.push(line.replace(/\r$/, ""));
        lineTimesMs.push(arrived);
        lineCpuMs.push(cpu);
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (exitCode, signal) => {
      const wallMs = performance.now() - started;
      if (pending !== "") {
        lines.push(pending);
        lineTimesMs.push(wallMs);
        lineCpuMs.push(Number.NaN);
      }
      resolve({
        args: command.slice(1),
        exitCode,
        signal,
        lines,
        lineTimesMs,
        lineCpuMs,
        wallMs,
        stderr,
        probe: probeFile === "" ? undefined : readProbe(probeFile),
        modules: traceFile === "" ? undefined : readTrace(traceFile, probeFile),
      });
    });
  });
}

/** Runs the built CLI with `args`; see {@link runNode}. */
export function runCli(args: readonly string[], options: ChildOptions = {}): Promise<ChildRun> {
  return runNode(CLI_PATH, args, options);
}

/** Fails with the child's command line and stderr unless it exited 0. */
export function checkExit(run: ChildRun): ChildRun {
  if (run.exitCode !== 0) {
    const status = run.signal === null ? `exit status ${run.exitCode}` : `signal ${run.signal}`;
    throw new Error(
      `node ${run.args.join(" ")} ended with ${status}. Its stderr:\n${run.stderr.slice(-2000)}`,
    );
  }
  return run;
}

/** Fails unless the run carries a probe report. */
export function probeOf(run: ChildRun): ProbeReport {
  if (run.probe === undefined) {
    throw new Error(`node ${run.args.join(" ")} wrote no probe report; did it exit normally?`);
  }
  return run.probe;
}

/**
 * CPU time of process `pid` so far, in milliseconds: the sum over its threads of the first
 * field of schedstat (nanoseconds on a CPU). Unlike utime and stime in /proc/PID/stat, which
 * count 10 ms clock ticks, this resolves single frames. Threads that already exited are
 * missing, so only differences between samples taken while the same threads run are
 * meaningful; Node keeps its worker threads for the life of the process.
 */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) {
    return Number.NaN;
  }
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return Number.NaN;
  }
  let nanoseconds = 0;
  for (const task of tasks) {
    try {
      const fields = readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ");
      nanoseconds += Number(fields[0]);
    } catch {
      // The thread exited after the listing; its time is no longer counted anywhere here.
    }
  }
  return nanoseconds / 1e6;
}

function readProbe(path: string): ProbeReport | undefined {
  try {
    const report: unknown = JSON.parse(readFileSync(path, "utf8"));
    return isProbeReport(report) ? report : undefined;
  } catch {
    return undefined;
  }
}

/** ESM URLs from the loader hook, then the CJS files the probe found in the require cache. */
function readTrace(traceFile: string, probeFile: string): readonly string[] | undefined {
  try {
    const esm = readFileSync(traceFile, "utf8").split("\n");
    const cjs = readProbe(probeFile)?.cjsModules ?? [];
    return [...new Set([...esm, ...cjs].filter((entry) => entry !== ""))];
  } catch {
    return undefined;
  }
}

/** Runs `tasks` with at most `limit` at a time and returns their results in order. */
export async function runLimited<T>(
  limit: number,
  tasks: readonly (() => Promise<T>)[],
): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const index = next;
      next += 1;
      const task = tasks[index];
      if (task !== undefined) {
        results[index] = await task();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
