/**
 * Process-level figures of `glitter cpu`: CPU time per frame and per hour, peak resident memory,
 * time to the first latched frame, and the modules loaded at start-up. Every function takes
 * the board arguments (`--emulate`, or `--bus 0` in the kernel tier), so the same code measures
 * both paths.
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import { join, relative } from "node:path";
import { checkExit, PROJECT_ROOT, probeOf, runCli, runLimited, runNode } from "./child.js";
import { mapSummary, summarize, type Summary } from "./stats.js";

/** A command that can run for a given number of frames. */
export interface Subject {
  readonly name: string;
  /** Node script and arguments for a run of `frames` frames at `intervalS`. */
  readonly command: (intervalS: number, frames: number) => [string, string[]];
}

/** `glitter cpu BOARD --view VIEW --interval S --frames N`. */
export function cliSubject(
  name: string,
  boardArgs: readonly string[],
  view: "none" | "json" = "none",
): Subject {
  return {
    name,
    command: (intervalS, frames) => [
      join(PROJECT_ROOT, "dist/src/cli.js"),
      [
        "cpu",
        ...boardArgs,
        "--view",
        view,
        "--interval",
        String(intervalS),
        "--frames",
        String(frames),
      ],
    ],
  };
}

/** `runCpu` with a /proc/stat reader and a board of `variant.js`; see there. */
export function variantSubject(
  name: string,
  reader: "src" | "promises" | "synthetic",
  board: string,
  view: "none" | "json" = "none",
): Subject {
  return {
    name,
    command: (intervalS, frames) => [
      fileURLToPath(new URL("./variant.js", import.meta.url)),
      [reader, board, view, String(Math.round(intervalS * 1000)), String(frames)],
    ],
  };
}

export interface CpuFigures {
  readonly subject: string;
  readonly intervalS: number;
  readonly frames: number;
  /** (CPU of an N-frame run - median CPU of 1-frame runs) / (N - 1), one value per N-frame run. */
  readonly perFrameMs: Summary;
  /** perFrameMs times the frames of one hour at this interval, in CPU seconds. */
  readonly perHourS: Summary;
  /** Percent of one core. */
  readonly coreShare: Summary;
  /** User + system CPU of the N-frame runs and of the 1-frame runs (start-up and exit). */
  readonly runCpuMs: Summary;
  readonly baselineCpuMs: Summary;
  /** VmHWM and VmRSS at the exit of the N-frame runs. */
  readonly peakRssMiB: Summary;
  readonly exitRssMiB: Summary;
}

const cpuMs = (probe: { userUs: number; systemUs: number }): number =>
  (probe.userUs + probe.systemUs) / 1000;

/**
 * Measures CPU per frame for each subject. First `runs` runs of `frames` frames go at once for
 * all subjects, because they sleep between frames and CPU time does not count waiting. Then
 * `runs` runs of 1 frame give the start-up and exit cost, whose median is subtracted.
 */
export async function measureCpu(
  subjects: readonly Subject[],
  intervalS: number,
  frames: number,
  runs: number,
): Promise<CpuFigures[]> {
  const launch = (subject: Subject, count: number) => () => {
    const [script, args] = subject.command(intervalS, count);
    return runNode(script, args, { probe: true }).then(checkExit);
  };
  const longTasks = subjects.flatMap((subject) =>
    Array.from({ length: runs }, () => launch(subject, frames)),
  );
  const longRuns = await runLimited(longTasks.length, longTasks);
  const shortTasks = subjects.flatMap((subject) =>
    Array.from({ length: runs }, () => launch(subject, 1)),
  );
  const shortRuns = await runLimited(runs, shortTasks);

  return subjects.map((subject, index) => {
    const long = longRuns.slice(index * runs, (index + 1) * runs).map(probeOf);
    const short = shortRuns.slice(index * runs, (index + 1) * runs).map(probeOf);
    const baselineCpuMs = summarize(short.map(cpuMs));
    const perFrameMs = summarize(
      long.map((probe) => (cpuMs(probe) - baselineCpuMs.median) / (frames - 1)),
    );
    return {
      subject: subject.name,
      intervalS,
      frames,
      perFrameMs,
      perHourS: mapSummary(perFrameMs, (ms) => (ms * 3600) / intervalS / 1000),
      coreShare: mapSummary(perFrameMs, (ms) => (100 * ms) / (intervalS * 1000)),
      runCpuMs: summarize(long.map(cpuMs)),
      baselineCpuMs,
      peakRssMiB: summarize(long.map((probe) => probe.vmHwmKiB / 1024)),
      exitRssMiB: summarize(long.map((probe) => probe.vmRssKiB / 1024)),
    };
  });
}

/** CPU per frame from inside one run: the window between two frames' JSON lines. */
export interface CpuWindowFigures {
  readonly subject: string;
  readonly intervalS: number;
  readonly frames: number;
  /** Frames in the window: from the line of lit frame `1 + WINDOW_SKIP` to the next-to-last. */
  readonly windowFrames: number;
  /** Child CPU between those two lines divided by the frames between them. */
  readonly perFrameMs: Summary;
  readonly perHourS: Summary;
  readonly coreShare: Summary;
  /** User + system CPU of the whole run, start-up and exit included (probe). */
  readonly runCpuMs: Summary;
  readonly peakRssMiB: Summary;
}

/** Lit frames left out at the start of a window, so the window starts after start-up. */
const WINDOW_SKIP = 1;

/**
 * Measures CPU per frame within runs of subjects whose view is json: the parent samples
 * the child's CPU time (per-thread schedstat) when each frame's line arrives. The CPU between
 * the line of frame 1 + WINDOW_SKIP and that of the next-to-last frame, divided by the frames
 * in between, is the figure. Start-up and exit fall outside the window, so this works where start-up costs far
 * more than a frame, as under QEMU's software emulation. `parallel` runs go at once.
 */
export async function measureCpuWindow(
  subjects: readonly Subject[],
  intervalS: number,
  frames: number,
  runs: number,
  parallel: number,
): Promise<CpuWindowFigures[]> {
  // The window ends at the next-to-last lit frame: the last one's line can arrive together
  // with the cleared frame's, when the child may already have exited.
  const windowFrames = frames - 2 - WINDOW_SKIP;
  if (windowFrames < 1) {
    throw new RangeError(`A CPU window needs at least ${WINDOW_SKIP + 3} frames, got ${frames}.`);
  }
  // Runs alternate between the subjects, so a change of load on the machine hits them alike.
  const tasks = Array.from({ length: runs }, () =>
    subjects.map((subject) => () => {
      const [script, args] = subject.command(intervalS, frames);
      return runNode(script, args, { probe: true }).then(checkExit);
    }),
  ).flat();
  const results = await runLimited(parallel, tasks);

  return subjects.map((subject, index) => {
    const own = results.filter((_, task) => task % subjects.length === index);
    if (own.some((run) => run.lines.length < frames)) {
      throw new Error(`${subject.name} printed fewer than ${frames} lines; is its view json?`);
    }
    const perFrame = own.map((run) => {
      const start = run.lineCpuMs[WINDOW_SKIP] ?? Number.NaN;
      const end = run.lineCpuMs[frames - 2] ?? Number.NaN;
      return (end - start) / windowFrames;
    });
    if (perFrame.some((value) => !Number.isFinite(value))) {
      throw new Error(`Could not read the CPU time of ${subject.name}'s child from /proc.`);
    }
    const perFrameMs = summarize(perFrame);
    const probes = own.map(probeOf);
    return {
      subject: subject.name,
      intervalS,
      frames,
      windowFrames,
      perFrameMs,
      perHourS: mapSummary(perFrameMs, (ms) => (ms * 3600) / intervalS / 1000),
      coreShare: mapSummary(perFrameMs, (ms) => (100 * ms) / (intervalS * 1000)),
      runCpuMs: summarize(probes.map(cpuMs)),
      peakRssMiB: summarize(probes.map((probe) => probe.vmHwmKiB / 1024)),
    };
  });
}

export interface StartupFigures {
  /** Spawn to the first `--view json` line, which is printed after the frame latched. */
  readonly firstFrameMs: Summary;
  /** The sample interval inside that time: a reading needs one interval of /proc/stat. */
  readonly intervalMs: number;
  /** Spawn to the first line of `node -e "console.log(0)"`, the floor for any Node program. */
  readonly nodeFirstLineMs: Summary;
  /** Peak resident memory (VmHWM) of that same one-line Node program. */
  readonly nodePeakRssMiB: Summary;
}

/**
 * Times spawn to first latched frame, `runs` runs one after another, after one warm-up run
 * that fills the page cache and is not counted. The one-line Node program is timed the same
 * way, then run again with the probe for its peak memory.
 */
export async function measureStartup(
  boardArgs: readonly string[],
  runs: number,
): Promise<StartupFigures> {
  const intervalS = 0.05;
  const args = ["cpu", ...boardArgs, "--view", "json", "--interval", String(intervalS)];
  const firstLine = async (): Promise<number> => {
    const run = checkExit(await runCli([...args, "--frames", "1"]));
    return run.lineTimesMs[0] ?? Number.NaN;
  };
  const nodeFirstLine = async (): Promise<number> => {
    const run = checkExit(await runNode("-e", ["console.log(0)"]));
    return run.lineTimesMs[0] ?? Number.NaN;
  };
  await firstLine();
  await nodeFirstLine();
  const firstFrame: number[] = [];
  const node: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    firstFrame.push(await firstLine());
    node.push(await nodeFirstLine());
  }
  const nodeMemory: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const probed = checkExit(await runNode("-e", ["console.log(0)"], { probe: true }));
    nodeMemory.push(probeOf(probed).vmHwmKiB / 1024);
  }
  return {
    firstFrameMs: summarize(firstFrame),
    intervalMs: intervalS * 1000,
    nodeFirstLineMs: summarize(node),
    nodePeakRssMiB: summarize(nodeMemory),
  };
}

/** The files a start-up loaded, by origin. */
export interface ModuleReport {
  readonly stderrIsTerminal: boolean;
  /** Files of the project, relative to its folder (the bench's own probe left out). */
  readonly projectFiles: readonly string[];
  /** Files loaded from each package under node_modules. */
  readonly packages: Readonly<Record<string, number>>;
}

function packageName(path: string): string | undefined {
  const marker = "/node_modules/";
  const at = path.lastIndexOf(marker);
  if (at < 0) {
    return undefined;
  }
  const [first, second] = path.slice(at + marker.length).split("/");
  return first?.startsWith("@") === true ? `${first}/${second ?? ""}` : first;
}

/**
 * Lists what `glitter cpu BOARD --view none --frames 1` loads, with stderr on a pipe or, with
 * `terminal`, on a terminal made by script(1).
 */
export async function measureModules(
  boardArgs: readonly string[],
  terminal: boolean,
): Promise<ModuleReport> {
  const run = checkExit(
    await runCli(["cpu", ...boardArgs, "--view", "none", "--interval", "0.05", "--frames", "1"], {
      trace: true,
      terminal,
    }),
  );
  const entries = run.modules ?? [];
  const benchFolder = join(PROJECT_ROOT, "dist/bench/");
  const projectFiles: string[] = [];
  const packages: Record<string, number> = {};
  const seen = new Set<string>();
  for (const entry of entries) {
    if (entry.startsWith("node:")) {
      continue;
    }
    const path = entry.startsWith("file:") ? fileURLToPath(entry) : entry;
    if (seen.has(path) || path.startsWith(benchFolder)) {
      continue;
    }
    seen.add(path);
    const name = packageName(path);
    if (name !== undefined) {
      packages[name] = (packages[name] ?? 0) + 1;
    } else if (path.startsWith(PROJECT_ROOT)) {
      projectFiles.push(relative(PROJECT_ROOT, path));
    }
  }
  return {
    stderrIsTerminal: terminal,
    projectFiles: projectFiles.sort(),
    packages,
  };
}

/** Milliseconds that a fresh process spends importing each part of glitter, in order. */
export interface ImportCosts {
  /** From process start to the first line of the importing script. */
  readonly bootMs: Summary;
  readonly pinoMs: Summary;
  /** apps/cpu.js and apps/log.js with everything they import: the code a frame runs. */
  readonly coreMs: Summary;
  /** apps/views.js and the terminal renderer it imports. */
  readonly viewsMs: Summary;
  /** apps/doctor.js, the code of `glitter doctor`. */
  readonly doctorMs: Summary;
  /** The rest of apps/cli.js. */
  readonly cliRestMs: Summary;
}

/** Times each import in a fresh process that prints its own clock, `runs` times. */
export async function measureImportCosts(runs: number): Promise<ImportCosts> {
  const module = (path: string): string =>
    JSON.stringify(pathToFileURL(join(PROJECT_ROOT, "dist/src", path)).href);
  const script = [
    "const t0 = performance.now();",
    'await import("pino");',
    "const t1 = performance.now();",
    `await import(${module("apps/cpu.js")});`,
    `await import(${module("apps/log.js")});`,
    "const t2 = performance.now();",
    `await import(${module("apps/views.js")});`,
    "const t3 = performance.now();",
    `await import(${module("apps/doctor.js")});`,
    "const t4 = performance.now();",
    `await import(${module("apps/cli.js")});`,
    "const t5 = performance.now();",
    "console.log(JSON.stringify([t0, t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4]));",
  ].join("\n");
  const columns: number[][] = [[], [], [], [], [], []];
  await runNode("--input-type=module", ["-e", script]);
  for (let run = 0; run < runs; run += 1) {
    const result = checkExit(await runNode("--input-type=module", ["-e", script]));
    const times = JSON.parse(result.lines[0] ?? "[]") as number[];
    times.forEach((value, index) => columns[index]?.push(value));
  }
  const [boot = [], pino = [], core = [], views = [], doctor = [], cliRest = []] = columns;
  return {
    bootMs: summarize(boot),
    pinoMs: summarize(pino),
    coreMs: summarize(core),
    viewsMs: summarize(views),
    doctorMs: summarize(doctor),
    cliRestMs: summarize(cliRest),
  };
}
