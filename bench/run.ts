/**
 * `npm run bench`: measures glitter's bus traffic, frame rate, CPU time, memory and start-up on
 * the emulated bus, prints the tables and writes them as JSON to bench/results/latest.json.
 *
 *   node dist/bench/run.js [--runs N] [--kernel]
 *
 * --runs N   repetitions of each timed figure (default 5); tables show median (min-max)
 * --kernel   also measure CPU and start-up against /dev/i2c-0 in the QEMU VM of
 *            test/kernel/vm-run.sh
 * --guest    internal: the half of --kernel that runs inside the VM
 *
 * A run takes about 90 s on a 2-core machine; --kernel adds a few minutes.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { checkExit, PROJECT_ROOT, removeScratch, runCli } from "./child.js";
import { GUEST_MARKER, runKernelTier, type GuestResults, type KernelOutcome } from "./kernel.js";
import {
  cliSubject,
  measureCpu,
  measureCpuWindow,
  measureImportCosts,
  measureModules,
  measureStartup,
  variantSubject,
  type CpuFigures,
  type CpuWindowFigures,
  type ModuleReport,
  type StartupFigures,
} from "./process.js";
import { formatNumber, formatSummary, formatTable, type Row, type Summary } from "./stats.js";
import {
  measureCliFrames,
  measureDriverLoop,
  type CliFrames,
  type LoopRates,
} from "./throughput.js";
import {
  bitTimes,
  BUS_SPEEDS,
  busMs,
  checkPlanner,
  measureClearExperiment,
  measureLibraryTraffic,
  type PlanCheck,
  type Traffic,
  type TrafficFigure,
} from "./traffic.js";

/** Frames of the CPU runs: enough that start-up noise divided by them stays small. */
const HOST_CPU_PLAN = [
  { intervalS: 0.5, frames: 61 },
  { intervalS: 0.1, frames: 201 },
] as const;
/** The reader experiment runs at the smallest interval, where a frame's cost shows most. */
const READER_PLAN = { intervalS: 0.05, frames: 301 } as const;
/**
 * Fewer frames in the VM, where QEMU's software emulation makes everything slower. The runs go
 * one at a time because the guest has one virtual CPU.
 */
const GUEST_CPU_PLAN = [
  { intervalS: 0.5, frames: 11 },
  { intervalS: 0.1, frames: 31 },
] as const;
/** The bus experiment in the VM, at the default interval, where every frame reopens the bus. */
const GUEST_BUS_EXPERIMENT = { intervalS: 0.5, frames: 16 } as const;
const CLI_FRAMES = { intervalS: 0.05, frames: 41 } as const;
/** Long classic-style JSON runs that show unchanged frames and refreshes through the CLI. */
const IDLE_RUNS = 2;
const DRIVER_LOOP_FRAMES = 20_000;
const PLANNER_CASES = 20_000;
const EMULATE = ["--emulate"] as const;

interface Machine {
  readonly date: string;
  readonly cpuModel: string;
  readonly nproc: number;
  readonly node: string;
  readonly kernel: string;
  readonly loadAverageStart: readonly number[];
  loadAverageEnd: readonly number[];
}

function describeMachine(): Machine {
  let kernel: string;
  try {
    kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    kernel = "unknown";
  }
  return {
    date: new Date().toISOString(),
    cpuModel: cpus()[0]?.model ?? "unknown",
    nproc: cpus().length,
    node: process.version,
    kernel,
    loadAverageStart: loadavg(),
    loadAverageEnd: [],
  };
}

interface Results {
  readonly machine: Machine;
  readonly runs: number;
  readonly refreshSeconds: number;
  readonly traffic: readonly TrafficFigure[];
  readonly cliFrames: CliFrames;
  readonly idleFrames: CliFrames | undefined;
  readonly driverLoop: LoopRates;
  readonly cpu: readonly CpuFigures[];
  readonly cpuWindow: readonly CpuWindowFigures[];
  readonly startup: StartupFigures;
  readonly modules: { readonly pipe: ModuleReport; readonly terminal: ModuleReport | string };
  readonly importCosts: Awaited<ReturnType<typeof measureImportCosts>>;
  readonly experiments: {
    readonly clearWithReset: { readonly before: Traffic; readonly after: Traffic };
    readonly planner: readonly PlanCheck[];
    readonly reader: readonly CpuFigures[];
  };
  readonly kernel: KernelOutcome | undefined;
  readonly wallS: number;
}

function step(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

/** Reads the CLI's default `--refresh` from its help text, so the figures follow the code. */
async function defaultRefreshSeconds(): Promise<number> {
  const help = checkExit(await runCli(["--help"])).lines.join("\n");
  const match = /--refresh SECONDS[\s\S]*?\(default (\d+(?:\.\d+)?)/.exec(help);
  if (match?.[1] === undefined) {
    throw new Error("glitter --help no longer shows the --refresh default; update bench/run.ts.");
  }
  return Number(match[1]);
}

async function measureHost(runs: number, withKernel: boolean): Promise<Results> {
  const started = performance.now();
  const machine = describeMachine();
  const refreshSeconds = await defaultRefreshSeconds();

  step("bus traffic of the driver on the emulated bus");
  const traffic = await measureLibraryTraffic(refreshSeconds);
  const clearWithReset = await measureClearExperiment();
  const planner = checkPlanner(PLANNER_CASES);

  step("driver + emulated bus in a tight loop");
  const driverLoop = await measureDriverLoop(runs, DRIVER_LOOP_FRAMES);

  step(`CLI frames at --interval ${CLI_FRAMES.intervalS}, ${runs} runs of ${CLI_FRAMES.frames}`);
  const cliFrames = await measureCliFrames([], runs, CLI_FRAMES.frames, CLI_FRAMES.intervalS);

  step("start-up to the first latched frame");
  const startup = await measureStartup(EMULATE, runs);

  const cpu: CpuFigures[] = [];
  const cpuWindow: CpuWindowFigures[] = [];
  let idleFrames: CliFrames | undefined;
  for (const [index, plan] of HOST_CPU_PLAN.entries()) {
    step(
      `CPU at --interval ${plan.intervalS}: ${runs} runs of ${plan.frames} frames ` +
        `(${Math.round(plan.intervalS * plan.frames)} s)`,
    );
    // The runs mostly sleep, so all batches of one interval go at once: the subtraction runs
    // and the window runs that check them. At 0.5 s the long classic-style JSON runs join
    // them. Their coarse levels give unchanged frames, and they span several refreshes.
    const subject = cliSubject("glitter cpu", EMULATE);
    const [figures, window, frames] = await Promise.all([
      measureCpu([subject], plan.intervalS, plan.frames, runs),
      measureCpuWindow(
        [cliSubject("glitter cpu", EMULATE, "json")],
        plan.intervalS,
        plan.frames,
        runs,
        runs,
      ),
      index === 0
        ? measureCliFrames(
            ["--style", "classic"],
            IDLE_RUNS,
            plan.frames,
            plan.intervalS,
            IDLE_RUNS,
          )
        : Promise.resolve(undefined),
    ]);
    cpu.push(...figures);
    cpuWindow.push(...window);
    idleFrames ??= frames;
  }

  step("modules loaded at start-up");
  const pipe = await measureModules(EMULATE, false);
  let terminal: ModuleReport | string;
  try {
    terminal = await measureModules(EMULATE, true);
  } catch (error) {
    terminal = `not measured: ${(error as Error).message.split("\n")[0] ?? ""}`;
  }
  const importCosts = await measureImportCosts(runs);

  step(
    `experiment: /proc/stat readers, ${runs} runs of ${READER_PLAN.frames} frames at ` +
      `${READER_PLAN.intervalS} s for each`,
  );
  const reader = await measureCpu(
    [
      variantSubject("fs/promises readFile", "promises", "emulated"),
      variantSubject("src/ reader (readFileSync)", "src", "emulated"),
      variantSubject("no file read", "synthetic", "emulated"),
    ],
    READER_PLAN.intervalS,
    READER_PLAN.frames,
    runs,
  );

  let kernel: KernelOutcome | undefined;
  if (withKernel) {
    step("kernel tier: the same figures against /dev/i2c-0 in the QEMU VM");
    kernel = await runKernelTier(runs);
  }
  machine.loadAverageEnd = loadavg();
  return {
    machine,
    runs,
    refreshSeconds,
    traffic,
    cliFrames,
    idleFrames,
    driverLoop,
    cpu,
    cpuWindow,
    startup,
    modules: { pipe, terminal },
    importCosts,
    experiments: { clearWithReset, planner, reader },
    kernel,
    wallS: (performance.now() - started) / 1000,
  };
}

/** Measures both board paths inside the VM (the guest half of `--kernel`) with the host's code. */
async function measureGuest(runs: number): Promise<GuestResults> {
  const bus = process.env["I2C_BUS"] ?? "0";
  const targets = [
    { target: "emulated", boardArgs: ["--emulate"] },
    { target: `/dev/i2c-${bus}`, boardArgs: ["--bus", bus] },
  ];
  const results = [];
  for (const { target, boardArgs } of targets) {
    const startup = await measureStartup(boardArgs, runs);
    const cpu: CpuWindowFigures[] = [];
    const subject = cliSubject(target, boardArgs, "json");
    for (const plan of GUEST_CPU_PLAN) {
      cpu.push(...(await measureCpuWindow([subject], plan.intervalS, plan.frames, runs, 1)));
    }
    const modules = await measureModules(boardArgs, false);
    results.push({ target, boardArgs, startup, cpu, modules });
  }

  // Experiment: the same frames with /dev/i2c-N kept open instead of closed 100 ms after
  // each transfer, both through runCpu so that only the bus differs.
  const busExperiment = await measureCpuWindow(
    [
      variantSubject("closed after each frame (src/)", "promises", `bus:${bus}`, "json"),
      variantSubject("kept open (experiment)", "promises", `kept-open:${bus}`, "json"),
    ],
    GUEST_BUS_EXPERIMENT.intervalS,
    GUEST_BUS_EXPERIMENT.frames,
    runs,
    1,
  );
  return {
    kernel: describeMachine().kernel,
    nproc: cpus().length,
    targets: results,
    busExperiment,
  };
}

// ---------------------------------------------------------------------------------------------
// Printing

const ms = (summary: Summary, digits = 1): string => `${formatSummary(summary, digits)} ms`;

function trafficRows(figures: readonly TrafficFigure[]): Row[] {
  return figures.map((figure) => {
    const { traffic } = figure;
    const perEvent = !figure.name.includes("per second");
    const times = BUS_SPEEDS.map((hertz) => formatNumber(busMs(traffic, hertz), 3));
    const rates = BUS_SPEEDS.map((hertz) =>
      perEvent && traffic.transactions > 0 ? formatNumber(1000 / busMs(traffic, hertz), 0) : "-",
    );
    const range =
      figure.range === undefined
        ? ""
        : ` (${figure.range.min.wireBytes}-${figure.range.max.wireBytes})`;
    return [
      figure.name,
      String(traffic.transactions),
      `${traffic.wireBytes}${range}`,
      String(bitTimes(traffic)),
      `${times[0] ?? ""} / ${times[1] ?? ""}`,
      `${rates[0] ?? ""} / ${rates[1] ?? ""}`,
      figure.note,
    ];
  });
}

function cpuRows(figures: readonly CpuFigures[], windows: readonly CpuWindowFigures[]): Row[] {
  return figures.flatMap((figure) => {
    const window = windows.find((candidate) => candidate.intervalS === figure.intervalS);
    const rows: Row[] = [
      [
        `CPU per frame at ${figure.intervalS} s`,
        ms(figure.perFrameMs, 2),
        `${figure.frames}-frame runs minus 1-frame runs; ` +
          `${formatSummary(figure.coreShare, 2)} % of a core`,
      ],
      [
        `CPU per hour at ${figure.intervalS} s`,
        `${formatSummary(figure.perHourS, 1)} s`,
        `${Math.round(3600 / figure.intervalS)} frames an hour`,
      ],
    ];
    if (window !== undefined) {
      rows.push([
        `  check: CPU per frame within a run`,
        ms(window.perFrameMs, 2),
        `--view json, schedstat from frame 2 to ${window.frames - 1}`,
      ]);
    }
    rows.push(
      [
        `CPU of a 1-frame run at ${figure.intervalS} s`,
        ms(figure.baselineCpuMs, 0),
        "start-up, one frame and exit",
      ],
      [
        `peak RSS (VmHWM) at ${figure.intervalS} s`,
        `${formatSummary(figure.peakRssMiB, 1)} MiB`,
        `at exit of the ${figure.frames}-frame runs; VmRSS then ` +
          `${formatSummary(figure.exitRssMiB, 1)} MiB`,
      ],
    );
    return rows;
  });
}

function startupRows(startup: StartupFigures): Row[] {
  return [
    [
      "spawn to first latched frame",
      ms(startup.firstFrameMs, 0),
      `--interval 0.05 --view json; includes the ${startup.intervalMs} ms sample interval`,
    ],
    [
      "  of which not the interval",
      `${formatNumber(startup.firstFrameMs.median - startup.intervalMs, 0)} ms`,
      "median minus the interval",
    ],
    ["node -e 'console.log(0)', spawn to line", ms(startup.nodeFirstLineMs, 0), "Node's own floor"],
    [
      "node -e 'console.log(0)', VmHWM",
      `${formatSummary(startup.nodePeakRssMiB, 1)} MiB`,
      "Node's own memory floor",
    ],
  ];
}

function moduleLines(report: ModuleReport | string, label: string): string[] {
  if (typeof report === "string") {
    return [`${label}: ${report}`];
  }
  const packages = Object.entries(report.packages)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, count]) => `${name} ${count}`)
    .join(", ");
  const fileCount = Object.values(report.packages).reduce((sum, count) => sum + count, 0);
  return [
    `${label}: ${report.projectFiles.length} project files, ${fileCount} dependency files ` +
      `(${packages})`,
    `  pino-pretty loaded: ${report.packages["pino-pretty"] === undefined ? "no" : "yes"}; ` +
      `i2c-bus loaded: ${report.packages["i2c-bus"] === undefined ? "no" : "yes"}`,
  ];
}

function formatCliFrames(frames: CliFrames | undefined): string {
  if (frames === undefined) {
    return "not measured";
  }
  const changed =
    frames.changedBytes === undefined || frames.changedTransactions === undefined
      ? "none in these runs"
      : `${frames.changedFrames} frames; each ${formatSummary(frames.changedBytes, 0)} bytes in ` +
        `${formatSummary(frames.changedTransactions, 0)} transactions`;
  const refreshes =
    frames.refreshTraffic === undefined
      ? "none in these runs"
      : `${frames.refreshes} frames; each ${frames.refreshTraffic.wireBytes} bytes in ` +
        `${frames.refreshTraffic.transactions} transactions`;
  const rows: Row[] = [
    [
      "first line (start-up + first frame)",
      `${frames.firstLine.wireBytes} bytes in ${frames.firstLine.transactions} transactions`,
    ],
    ["changed frames", changed],
    [
      "unchanged frames",
      `${frames.unchangedFrames} frames; ${frames.unchangedTraffic.wireBytes} bytes in ` +
        `${frames.unchangedTraffic.transactions} transactions in all`,
    ],
    ["refreshes", refreshes],
    [
      "traffic per second, first to last frame",
      `${formatSummary(frames.bytesPerSecond, 1)} bytes/s, ` +
        `${formatSummary(frames.transactionsPerSecond, 2)} transactions/s`,
    ],
    [
      "lines equal to the library replay",
      `${frames.replayedLines} of ${frames.replayedLines + frames.replayMismatches.length}`,
    ],
  ];
  const mismatches = frames.replayMismatches.slice(0, 5).map((text) => `  mismatch: ${text}`);
  return [formatTable(["figure", "value"], rows), ...mismatches].join("\n");
}

const cliTitle = (frames: CliFrames | undefined): string =>
  frames === undefined
    ? "Through the CLI: not measured"
    : `Through the CLI: glitter ${frames.args.join(" ")}, ${frames.runs} runs`;

function formatKernel(outcome: KernelOutcome | undefined): string {
  if (outcome === undefined) {
    return (
      "Not run. `node dist/bench/run.js --kernel` measures the CPU and start-up figures " +
      "against /dev/i2c-0 (i2c-stub) in the QEMU VM of test/kernel/vm-run.sh."
    );
  }
  if (outcome.status !== "measured") {
    return `${outcome.status}: ${outcome.reason}`;
  }
  const { results } = outcome;
  const rows: Row[] = [];
  const packageLines: string[] = [];
  for (const target of results.targets) {
    rows.push([
      `${target.target}: spawn to first latched frame`,
      ms(target.startup.firstFrameMs, 0),
      `--interval 0.05; node -e floor ${ms(target.startup.nodeFirstLineMs, 0)}`,
    ]);
    for (const figure of target.cpu) {
      rows.push(
        [
          `${target.target}: CPU per frame at ${figure.intervalS} s`,
          ms(figure.perFrameMs, 2),
          `${formatSummary(figure.coreShare, 1)} % of the vCPU; per hour ` +
            `${formatSummary(figure.perHourS, 0)} s`,
        ],
        [
          `${target.target}: CPU of a ${figure.frames}-frame run at ${figure.intervalS} s`,
          ms(figure.runCpuMs, 0),
          `VmHWM ${formatSummary(figure.peakRssMiB, 1)} MiB`,
        ],
      );
    }
    packageLines.push(
      `${target.target}: packages loaded: ${Object.keys(target.modules.packages).sort().join(", ")}`,
    );
  }
  for (const figure of results.busExperiment) {
    rows.push([
      `/dev/i2c-N ${figure.subject}: CPU per frame at ${figure.intervalS} s`,
      ms(figure.perFrameMs, 2),
      `runCpu through variant.js; ${figure.frames}-frame runs`,
    ]);
  }
  return [
    `QEMU software emulation (TCG), 1 run at a time, guest kernel ${results.kernel}, ` +
      `${results.nproc} vCPU, ${formatNumber(outcome.wallS, 0)} s including boot. CPU per ` +
      "frame is measured within each run (schedstat between the JSON lines of frame 2 and the " +
      "next-to-last frame). Compare rows of this table with each other only.",
    formatTable(["figure", "median (min-max)", "notes"], rows),
    ...packageLines,
  ].join("\n");
}

function experimentRows(results: Results): Row[] {
  const { clearWithReset: clear, reader, planner } = results.experiments;
  const rows: Row[] = [
    [
      "clear at exit from all lit",
      `${clear.before.wireBytes} bytes, ${clear.before.transactions} tx`,
      `${clear.after.wireBytes} bytes, ${clear.after.transactions} tx`,
      "Reset Register instead of shutdown + PWM 0 + latch",
    ],
  ];
  const [promises, sync, synthetic] = reader;
  if (promises !== undefined && sync !== undefined) {
    rows.push([
      `CPU per frame at ${promises.intervalS} s, /proc/stat read`,
      `${ms(sync.perFrameMs, 2)} (readFileSync)`,
      `${ms(promises.perFrameMs, 2)} (fs/promises readFile)`,
      `${promises.frames}-frame runs of runCpu; the variant is the reader src/ had before`,
    ]);
  }
  if (synthetic !== undefined) {
    rows.push([
      "  for reference: no file read at all",
      "",
      ms(synthetic.perFrameMs, 2),
      "made-up counters, same parse",
    ]);
  }
  for (const check of planner) {
    rows.push([
      `planner vs optimum: ${check.kind}`,
      `${check.worse} of ${check.cases} cases cost more`,
      "",
      check.worse === 0 ? "planner is optimal" : `up to ${check.maxExcessBits} bit times more`,
    ]);
  }
  return rows;
}

export function formatResults(results: Results): string {
  const { machine } = results;
  const load = (values: readonly number[]): string =>
    values.map((value) => value.toFixed(2)).join(" ");
  const busLimits = trafficRows(results.traffic)
    .filter((row) => row[0] === "full-board change" || row[0] === "one-LED change")
    .map((row): Row => [`bus limit, ${row[0]}`, row[5] ?? "", "at 100 / 400 kHz, from bytes"]);
  const sections = [
    `glitter bench, ${machine.date}`,
    `${machine.cpuModel}, ${machine.nproc} CPUs, Node ${machine.node}, Linux ${machine.kernel}; ` +
      `load average ${load(machine.loadAverageStart)} at start, ${load(machine.loadAverageEnd)} ` +
      `at end; timed figures are median (min-max) of ${results.runs} runs`,
    "",
    "Bus traffic per event, driver on the emulated bus (exact counts)",
    formatTable(
      [
        "event",
        "transactions",
        "wire bytes",
        "bit times",
        "bus ms @100/400 kHz",
        "max per s @100/400 kHz",
        "notes",
      ],
      trafficRows(results.traffic),
    ),
    "",
    cliTitle(results.cliFrames),
    formatCliFrames(results.cliFrames),
    "",
    cliTitle(results.idleFrames),
    formatCliFrames(results.idleFrames),
    "",
    "Frame rate",
    formatTable(
      ["figure", "frames/s", "notes"],
      [
        [
          "driver + emulated bus, full-board change",
          formatSummary(results.driverLoop.fullBoardFps, 0),
          `${results.driverLoop.framesPerRun} frames a run, setAllPwm + update`,
        ],
        [
          "driver + emulated bus, one-LED change",
          formatSummary(results.driverLoop.oneLedFps, 0),
          "",
        ],
        [
          `CLI, --interval ${CLI_FRAMES.intervalS}`,
          formatSummary(results.cliFrames.fps, 2),
          `the interval allows ${formatNumber(1 / CLI_FRAMES.intervalS, 0)}`,
        ],
        ...busLimits,
      ],
    ),
    "",
    "Process: glitter cpu --emulate --view none",
    formatTable(
      ["figure", "median (min-max)", "notes"],
      [...cpuRows(results.cpu, results.cpuWindow), ...startupRows(results.startup)],
    ),
    "",
    "Modules loaded by glitter cpu --emulate --view none --frames 1",
    ...moduleLines(results.modules.pipe, "stderr on a pipe"),
    ...moduleLines(results.modules.terminal, "stderr on a terminal"),
    formatTable(
      ["import in a fresh process", "median (min-max)"],
      [
        ["Node start to first line of script", ms(results.importCosts.bootMs)],
        ["pino", ms(results.importCosts.pinoMs)],
        ["apps/cpu.js + apps/log.js and their imports", ms(results.importCosts.coreMs)],
        ["apps/views.js + apps/render.js", ms(results.importCosts.viewsMs)],
        ["apps/doctor.js", ms(results.importCosts.doctorMs)],
        ["rest of apps/cli.js", ms(results.importCosts.cliRestMs)],
      ],
    ),
    "",
    "Experiments (bench-local variants next to what src/ does now)",
    formatTable(["experiment", "src/ now", "variant", "notes"], experimentRows(results)),
    "",
    "Kernel tier (real i2c-dev path)",
    formatKernel(results.kernel),
    "",
    `Bench wall time ${formatNumber(results.wallS, 0)} s.`,
  ];
  return sections.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "5" },
      kernel: { type: "boolean", default: false },
      guest: { type: "boolean", default: false },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
    throw new RangeError(`--runs must be an integer from 1 to 50, got ${values.runs}.`);
  }
  try {
    if (values.guest) {
      const results = await measureGuest(runs);
      process.stdout.write(`${GUEST_MARKER}${JSON.stringify(results)}\n`);
      return;
    }
    const results = await measureHost(runs, values.kernel);
    const text = formatResults(results);
    process.stdout.write(`${text}\n`);
    const folder = join(PROJECT_ROOT, "bench/results");
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, "latest.json"),
      `${JSON.stringify({ ...results, text }, null, 2)}\n`,
    );
    step(`wrote ${join(folder, "latest.json")}`);
  } finally {
    removeScratch();
  }
}

await main();
