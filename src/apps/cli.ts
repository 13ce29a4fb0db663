import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { describeValue } from "../core/check.js";
import { resolveTarget } from "../board/piglow.js";
import { DEFAULT_GAMMA, DEFAULT_STYLE, findStyle, STYLES } from "../visuals/visuals.js";
import { openBoard, type BoardRequest, type OpenBoard } from "./board.js";
import { runCpu } from "./cpu.js";
import { SetupError } from "./explain.js";
import { createLogger, type Logger } from "./log.js";
import { clearBoard, stageLit } from "./session.js";
import { jsonView, noView, terminalView, VIEW_NAMES, type View, type ViewName } from "./views.js";

const DEFAULT_INTERVAL_SECONDS = 0.5;
const DEFAULT_REFRESH_SECONDS = 10;

const HELP = `glitter: CPU load and more on a Pimoroni PiGlow, or on an emulated board

Usage:
  glitter cpu [options]                  draw CPU load until stopped (Ctrl-C, SIGTERM)
  glitter set <target> <pwm> [<target> <pwm>...] [options]
                                         set LEDs to a raw PWM duty, 0-255
  glitter off [<target>...] [options]    darken the targets, or the whole board and
                                         put the chip in shutdown when none is given
  glitter doctor [--bus N]               check the I2C set-up of this host or container,
                                         one line per check, with the fix for each failure
  glitter launch [-- <command> [options]]
                                         for Docker Swarm: keep a sibling container running
                                         glitter <command> (default cpu) with the node's I2C
                                         device, through the Docker socket; stop and remove
                                         it on SIGTERM. Settings from the environment: see
                                         docs/deployment.md

Targets: all; a leg: top, right, left (or leg0-leg2); a ring: red, orange, yellow, green,
blue, white (or ring0-ring5); one LED: top-red ... left-white, or its channel 0-17.

Board options (all commands):
  --bus N            require the PiGlow on /dev/i2c-N (fails with the fix if it cannot be used)
  --emulate          use the emulated board even where a PiGlow is attached
                     Neither: GLITTER_EMULATE=1 or GLITTER_BUS=N from the environment, else
                     /dev/i2c-1 on a Raspberry Pi that has it, else the emulated board.
  --view NAME        terminal: draw the board in place; json: one line per frame on stdout;
                     none. Default: terminal on the emulated board when stdout is a terminal.

cpu options:
  --style NAME       ${Object.entries(STYLES)
    .map(([name, style]) => `${name}: ${style.description}`)
    .join("\n                     ")}
  --interval SECONDS time between samples, 0.05 to 60 (default ${DEFAULT_INTERVAL_SECONDS})
  --brightness N     peak level 1-255: raw PWM for classic (default 20), perceived
                     brightness before gamma for bar and arms (default 96)
  --gamma X          gamma exponent for bar and arms, 0.1 to 5 (default ${DEFAULT_GAMMA})
  --frames N         stop after N frames
  --keep-on-exit     leave the LEDs lit when stopping
  --refresh SECONDS  rewrite every register this often, so a board that lost power lights
                     again even while the picture stands still; 0 turns it off
                     (default ${DEFAULT_REFRESH_SECONDS}; costs 27 bytes of bus traffic each time)

  --log-level LEVEL  fatal, error, warn, info (default), debug, trace, silent
  -h, --help         show this help
  --version          print the version
`;

const OPTIONS = {
  bus: { type: "string" },
  emulate: { type: "boolean" },
  view: { type: "string" },
  style: { type: "string" },
  interval: { type: "string" },
  brightness: { type: "string" },
  gamma: { type: "string" },
  frames: { type: "string" },
  "keep-on-exit": { type: "boolean" },
  refresh: { type: "string" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const satisfies NonNullable<ParseArgsConfig["options"]>;

type Values = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>["values"];

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** Options that only `glitter cpu` reads. */
const CPU_OPTIONS = [
  "style",
  "interval",
  "brightness",
  "gamma",
  "frames",
  "keep-on-exit",
  "refresh",
] as const;

function rejectCpuOptions(values: Values, command: string | undefined): void {
  const given = CPU_OPTIONS.find((name) => values[name] !== undefined);
  if (given !== undefined && command !== undefined) {
    throw new UsageError(`--${given} applies to glitter cpu only, not to glitter ${command}.`);
  }
}

/** A command line that cannot be run as written. The message contains the fix. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parses a numeric option, naming the option, the value and the range when it is invalid. */
function numberOption(
  name: string,
  text: string | undefined,
  range: { min: number; max: number; integer: boolean },
): number | undefined {
  if (text === undefined) {
    return undefined;
  }
  const value = Number(text);
  const kind = range.integer ? "an integer" : "a number";
  if (
    text.trim() === "" ||
    !Number.isFinite(value) ||
    (range.integer && !Number.isInteger(value)) ||
    value < range.min ||
    value > range.max
  ) {
    throw new UsageError(
      `${name} must be ${kind} from ${range.min} to ${range.max}, got ${describeValue(text)}.`,
    );
  }
  return value;
}

/**
 * Picks the board from `--bus` and `--emulate`, or else from the environment variables
 * GLITTER_EMULATE=1 and GLITTER_BUS=N, which let a container image default to the hardware
 * and still switch to the emulated board with one `-e` option. Flags win over the environment,
 * and GLITTER_EMULATE wins over GLITTER_BUS.
 */
function boardRequest(values: Values, env: NodeJS.ProcessEnv = process.env): BoardRequest {
  const bus = numberOption("--bus", values.bus, { min: 0, max: 255, integer: true });
  if (bus !== undefined && values.emulate === true) {
    throw new UsageError("--bus and --emulate exclude each other; pass one of them.");
  }
  if (bus !== undefined || values.emulate === true) {
    return { bus, emulate: values.emulate };
  }
  const emulate = env["GLITTER_EMULATE"];
  if (emulate !== undefined && emulate !== "" && emulate !== "0") {
    if (emulate !== "1") {
      throw new UsageError(`GLITTER_EMULATE must be 1 or 0, got ${describeValue(emulate)}.`);
    }
    return { emulate: true };
  }
  const envBus = env["GLITTER_BUS"];
  return {
    bus:
      envBus === undefined || envBus === ""
        ? undefined
        : numberOption("GLITTER_BUS", envBus, { min: 0, max: 255, integer: true }),
  };
}

function viewName(values: Values, out: NodeJS.WriteStream): (board: OpenBoard) => ViewName {
  const requested = values.view;
  if (requested !== undefined && !(VIEW_NAMES as readonly string[]).includes(requested)) {
    throw new UsageError(
      `--view must be one of ${VIEW_NAMES.join(", ")}, got ${describeValue(requested)}.`,
    );
  }
  return (board) =>
    (requested as ViewName | undefined) ?? (board.emulated && out.isTTY ? "terminal" : "none");
}

function createView(name: ViewName, board: OpenBoard, out: NodeJS.WriteStream): View {
  switch (name) {
    case "json":
      return jsonView(out);
    case "terminal":
      return terminalView(out, board.emulated ? "emulated board" : board.path);
    case "none":
      return noView();
  }
}

function version(): string {
  const packageJson = JSON.parse(
    readFileSync(new URL("../../../package.json", import.meta.url), "utf8"),
  ) as { version: string };
  return packageJson.version;
}

/**
 * Waits for SIGINT, SIGTERM or a closed stdout (EPIPE, as when piped into `head`), so the
 * board is cleared in each case. A second signal exits at once, for a stuck bus.
 */
function stopSignal(log: Logger): AbortSignal {
  const controller = new AbortController();
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") {
      throw error;
    }
    if (!controller.signal.aborted) {
      log.info("stdout closed; stopping");
      controller.abort();
    }
  });
  const stop = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      log.warn({ signal }, "second signal; exiting without clearing the LEDs");
      process.exit(1);
    }
    log.info({ signal }, "stopping");
    controller.abort();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return controller.signal;
}

async function cpuCommand(values: Values, positionals: string[], log: Logger): Promise<void> {
  if (positionals.length > 0) {
    throw new UsageError(`glitter cpu takes no arguments, got ${describeValue(positionals[0])}.`);
  }
  const styleName = values.style ?? DEFAULT_STYLE;
  let style;
  try {
    style = findStyle(styleName);
  } catch (error) {
    throw new UsageError(`--${(error as Error).message}`);
  }
  const intervalSeconds =
    numberOption("--interval", values.interval, { min: 0.05, max: 60, integer: false }) ??
    DEFAULT_INTERVAL_SECONDS;
  const pickView = viewName(values, process.stdout);
  await runCpu(
    {
      board: boardRequest(values),
      intervalMs: Math.round(intervalSeconds * 1000),
      style: styleName,
      visual: {
        brightness:
          numberOption("--brightness", values.brightness, { min: 1, max: 255, integer: true }) ??
          style.defaultBrightness,
        gamma:
          numberOption("--gamma", values.gamma, { min: 0.1, max: 5, integer: false }) ??
          DEFAULT_GAMMA,
      },
      frames: numberOption("--frames", values.frames, { min: 1, max: 1e9, integer: true }),
      keepOnExit: values["keep-on-exit"] === true,
      refreshSeconds:
        numberOption("--refresh", values.refresh, { min: 0, max: 3600, integer: false }) ??
        DEFAULT_REFRESH_SECONDS,
    },
    {
      log,
      signal: stopSignal(log),
      createView: (board) => createView(pickView(board), board, process.stdout),
    },
  );
}

/** Parses `<target> <pwm>` pairs, or bare targets for `off`, into channel values. */
function targetValues(positionals: string[], withValues: boolean): Map<number, number> {
  const values = new Map<number, number>();
  const step = withValues ? 2 : 1;
  if (positionals.length === 0 || positionals.length % step !== 0) {
    throw new UsageError(
      withValues
        ? "glitter set needs pairs of <target> <pwm>, for example: glitter set red 40 top-white 255."
        : "glitter off takes targets only, for example: glitter off red top.",
    );
  }
  for (let index = 0; index < positionals.length; index += step) {
    const target = positionals[index] ?? "";
    let channels: readonly number[];
    try {
      channels = resolveTarget(target);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const value = withValues
      ? (numberOption(`pwm for ${target}`, positionals[index + 1], {
          min: 0,
          max: 255,
          integer: true,
        }) ?? 0)
      : 0;
    for (const channel of channels) {
      values.set(channel, value);
    }
  }
  return values;
}

async function setCommand(
  values: Values,
  positionals: string[],
  log: Logger,
  off: boolean,
): Promise<void> {
  const wholeBoardOff = off && positionals.length === 0;
  const changes = wholeBoardOff ? new Map<number, number>() : targetValues(positionals, !off);
  const pickView = viewName(values, process.stdout);
  const board = await openBoard(boardRequest(values));
  if (board.notice !== undefined) {
    log.info({ bus: board.path }, board.notice);
  }
  try {
    if (wholeBoardOff) {
      await clearBoard(board);
    } else {
      stageLit(board);
      for (const [channel, value] of changes) {
        board.driver.setPwm(channel, value);
      }
      await board.driver.update();
    }
  } catch (error) {
    throw board.explain(error);
  } finally {
    await board.close();
  }
  const view = createView(pickView(board), board, process.stdout);
  view.show({
    frame: 1,
    pwm: board.latchedPwm(),
    reading: undefined,
    style: off ? "off" : "set",
    note: wholeBoardOff ? "board off" : `${changes.size} LEDs`,
    bus: { ...board.traffic },
  });
  view.close();
  log.debug({ bus: board.path, ...board.traffic }, off ? "off" : "set");
}

async function doctorCommand(values: Values, positionals: string[]): Promise<number> {
  if (positionals.length > 0) {
    throw new UsageError(
      `glitter doctor takes no arguments, got ${describeValue(positionals[0])}.`,
    );
  }
  const bus = numberOption("--bus", values.bus, { min: 0, max: 255, integer: true });
  // Loaded here, so that glitter cpu does not load what only the doctor needs.
  const { formatDoctor, runDoctor } = await import("./doctor.js");
  const results = await runDoctor({ bus });
  process.stdout.write(`${formatDoctor(results)}
`);
  return results.some((result) => result.status === "fail") ? 1 : 0;
}

/**
 * Joins `--option -1` into `--option=-1`, which node:util's parseArgs would otherwise read as an
 * unknown option, so that the option's own range check names it and its valid range.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const args: string[] = [];
  for (const arg of argv) {
    const previous = args.at(-1);
    const name = previous?.startsWith("--") === true ? previous.slice(2) : undefined;
    const takesValue =
      name !== undefined &&
      Object.hasOwn(OPTIONS, name) &&
      OPTIONS[name as keyof typeof OPTIONS].type === "string";
    if (takesValue && /^-\d/.test(arg)) {
      args[args.length - 1] = `${previous ?? ""}=${arg}`;
    } else {
      args.push(arg);
    }
  }
  return args;
}

/**
 * Runs one glitter command line and returns the process exit code: 0 on success (also when
 * stopped by a signal), 1 when the board cannot be used, 2 for a command line error.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const args = joinNegativeValues(argv);
  const negative = args.find((arg) => /^-\d/.test(arg));
  if (negative !== undefined) {
    process.stderr.write(
      `glitter: ${describeValue(negative)} is not a valid target or PWM value: targets are ` +
        `names or channels 0-17 and PWM values 0-255. See glitter --help.\n`,
    );
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // Keep the first sentence of node:util's message, which names the option.
    const first = (error as Error).message.split(/\.\s/)[0]?.replace(/\.$/, "") ?? "";
    const sentence = first.charAt(0).toLowerCase() + first.slice(1);
    process.stderr.write(`glitter: ${sentence}. See glitter --help.\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version === true) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  const level = values["log-level"] ?? "info";
  if (!LOG_LEVELS.includes(level)) {
    process.stderr.write(
      `glitter: --log-level must be one of ${LOG_LEVELS.join(", ")}, got ${describeValue(level)}.\n`,
    );
    return 2;
  }
  const log = createLogger({ level });
  try {
    if (command !== "cpu") {
      rejectCpuOptions(values, command);
    }
    switch (command) {
      case "cpu":
        await cpuCommand(values, rest, log);
        return 0;
      case "set":
        await setCommand(values, rest, log, false);
        return 0;
      case "off":
        await setCommand(values, rest, log, true);
        return 0;
      case "doctor":
        return await doctorCommand(values, rest);
      case "launch":
        if (values.bus !== undefined || values.emulate !== undefined || values.view !== undefined) {
          throw new UsageError(
            "glitter launch passes options to the child after --, as in glitter launch -- cpu --view json.",
          );
        }
        {
          const { launchSettings, runLauncher } = await import("./launch.js");
          await runLauncher(launchSettings(rest, process.env), { log, signal: stopSignal(log) });
        }
        return 0;
      case undefined:
        process.stderr.write(
          `glitter: missing command: cpu, set, off, doctor or launch.\n\n${HELP}`,
        );
        return 2;
      default:
        throw new UsageError(
          `Unknown command ${describeValue(command)}. Commands: cpu, set, off, doctor, launch; see glitter --help.`,
        );
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`glitter: ${error.message}\n`);
      return 2;
    }
    if (error instanceof SetupError) {
      const cause = error.cause as { code?: unknown; path?: unknown } | undefined;
      log.fatal({ code: cause?.code, bus: cause?.path }, error.message);
      return 1;
    }
    log.fatal({ err: error }, "glitter failed");
    return 1;
  }
}
