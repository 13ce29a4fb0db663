import { readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { describeValue } from "../core/check.js";
import { i2cDevicePath } from "../bus/linux.js";
import {
  DockerEngine,
  DockerEngineError,
  dockerSocketPath,
  type ContainerCreateBody,
  type ContainerWait,
} from "../sources/docker-engine.js";
import { DEFAULT_BUS } from "./board.js";
import { SetupError } from "./explain.js";
import type { Logger } from "./log.js";

/**
 * `glitter launch`: keeps one glitter container with the I2C device running on this node.
 *
 * Docker Swarm services cannot be given devices, so a service's own container cannot open
 * /dev/i2c-1 even when the node is bind-mounted in (the device cgroup rejects it with EPERM).
 * The launcher runs as a global service with the Docker socket mounted and, through the Engine
 * API, creates a sibling container on its own node with the device, the device's group and the
 * same image, as `docker run --device` would. It restarts that child when it exits, and stops
 * and removes it when the launcher gets SIGTERM, so removing or updating the service clears
 * the LEDs.
 */

/** Label on every child container, used to find children left by an earlier launcher. */
export const CHILD_ROLE_LABEL = "glitter.launch.role";
/** Label with the container ID (or host name) of the launcher that created the child. */
export const CHILD_LAUNCHER_LABEL = "glitter.launch.launcher";

export interface LaunchSettings {
  /** Unix socket of the node's Docker Engine. */
  readonly socketPath: string;
  /** Engine API version to use, skipping negotiation; from DOCKER_API_VERSION. */
  readonly apiVersion: string | undefined;
  /** Image of the child; undefined means the launcher's own image. */
  readonly image: string | undefined;
  /** Path of the I2C device on the node. */
  readonly device: string;
  /** Folder under which the node's device path is mounted in the launcher, for stat. */
  readonly hostRoot: string;
  /** Group ID to add to the child; undefined means the device's group, from stat. */
  readonly deviceGid: number | undefined;
  /** Bus number the child uses: the device appears at /dev/i2c-<bus> in the child. */
  readonly bus: number;
  /** Run the child on the emulated board, with no device. */
  readonly emulate: boolean;
  readonly childName: string;
  /** Command and options of glitter in the child, such as `cpu --style arms`. */
  readonly childCommand: readonly string[];
  /** Seconds the engine waits after SIGTERM before it kills the child. */
  readonly stopTimeoutSeconds: number;
  /** Delay before the first restart of a failed child, doubled per failure up to `max`. */
  readonly restartDelayMs: { readonly initial: number; readonly max: number };
}

export interface LaunchDependencies {
  readonly log: Logger;
  /** Aborted by SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Streams that receive the child's stdout and stderr. */
  readonly stdout?: NodeJS.WritableStream;
  readonly stderr?: NodeJS.WritableStream;
  /** ID or name of the launcher's own container, when it runs in one. */
  readonly ownContainerId?: () => string | undefined;
}

const DEFAULT_CHILD_NAME = "glitter-piglow";
const DEFAULT_STOP_TIMEOUT_SECONDS = 5;
const DEFAULT_RESTART_DELAY_MS = { initial: 1000, max: 60_000 };
/** How long the launcher waits for AutoRemove after the child has stopped. */
const REMOVAL_WAIT_MS = 10_000;
/** How long the launcher waits for the last lines of the child's logs after it stopped. */
const LOG_DRAIN_MS = 1000;

function integerSetting(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isInteger(value) || value < min || value > max) {
    throw new SetupError(
      `${name} must be an integer from ${min} to ${max}, got ${describeValue(text)}.`,
    );
  }
  return value;
}

/**
 * Reads the launcher's settings from its environment and the child's command from `args`
 * (what follows `glitter launch --`), defaulting to `cpu`.
 *
 * @throws SetupError naming the variable and the value when a setting is invalid.
 */
export function launchSettings(args: readonly string[], env: NodeJS.ProcessEnv): LaunchSettings {
  let socketPath: string;
  try {
    socketPath = dockerSocketPath(env["DOCKER_HOST"]);
  } catch (error) {
    throw new SetupError((error as Error).message);
  }

  const emulate = env["GLITTER_EMULATE"] ?? "";
  if (!["", "0", "1"].includes(emulate)) {
    throw new SetupError(`GLITTER_EMULATE must be 1 or 0, got ${describeValue(emulate)}.`);
  }
  const device = env["GLITTER_DEVICE"] ?? i2cDevicePath(DEFAULT_BUS);
  if (!device.startsWith("/")) {
    throw new SetupError(
      `GLITTER_DEVICE must be an absolute path on the node, such as /dev/i2c-1, got ` +
        `${describeValue(device)}.`,
    );
  }
  const optional = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === "" ? undefined : value;
  };
  const gidText = optional("GLITTER_DEVICE_GID");
  const busText = optional("GLITTER_BUS");
  const stopText = optional("GLITTER_STOP_TIMEOUT");

  return {
    socketPath,
    apiVersion: optional("DOCKER_API_VERSION"),
    image: optional("GLITTER_IMAGE"),
    device,
    hostRoot: (env["GLITTER_HOST_ROOT"] ?? "").replace(/\/+$/, ""),
    deviceGid:
      gidText === undefined ? undefined : integerSetting("GLITTER_DEVICE_GID", gidText, 0, 2 ** 31),
    bus: busText === undefined ? DEFAULT_BUS : integerSetting("GLITTER_BUS", busText, 0, 255),
    emulate: emulate === "1",
    childName: optional("GLITTER_CHILD_NAME") ?? DEFAULT_CHILD_NAME,
    childCommand: args.length === 0 ? ["cpu"] : [...args],
    stopTimeoutSeconds:
      stopText === undefined
        ? DEFAULT_STOP_TIMEOUT_SECONDS
        : integerSetting("GLITTER_STOP_TIMEOUT", stopText, 1, 300),
    restartDelayMs: DEFAULT_RESTART_DELAY_MS,
  };
}

/**
 * Returns the ID of the container this process runs in, from the bind mounts that Docker makes
 * for /etc/hostname and /etc/hosts, else the host name, which Docker and Swarm set to the short
 * container ID unless the service sets another. The engine accepts either.
 */
export function findOwnContainerId(mountinfoPath = "/proc/self/mountinfo"): string | undefined {
  try {
    const match = /\/containers\/([0-9a-f]{64})\//.exec(readFileSync(mountinfoPath, "utf8"));
    if (match?.[1] !== undefined) {
      return match[1];
    }
  } catch {
    // No mountinfo: fall back to the host name.
  }
  const name = hostname();
  return name === "" ? undefined : name;
}

/** Builds the child's create request: what `docker run --rm --device ... --group-add` sends. */
export function childCreateBody(
  settings: LaunchSettings,
  image: string,
  deviceGid: number | undefined,
  launcherId: string,
): ContainerCreateBody {
  const devicePath = i2cDevicePath(settings.bus);
  const hardware = !settings.emulate;
  return {
    Image: image,
    Cmd: settings.childCommand,
    Env: hardware ? [`GLITTER_BUS=${settings.bus}`] : ["GLITTER_EMULATE=1"],
    Labels: { [CHILD_ROLE_LABEL]: "child", [CHILD_LAUNCHER_LABEL]: launcherId },
    StopTimeout: settings.stopTimeoutSeconds,
    HostConfig: {
      // The glitter image's entrypoint is tini, which forwards the stop signal, so no --init.
      Init: false,
      AutoRemove: true,
      Devices: hardware
        ? [{ PathOnHost: settings.device, PathInContainer: devicePath, CgroupPermissions: "rw" }]
        : [],
      GroupAdd: hardware && deviceGid !== undefined ? [String(deviceGid)] : [],
      ReadonlyRootfs: true,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      NetworkMode: "none",
    },
  };
}

/** Returns the device's group ID, reading it from the node's device node through `hostRoot`. */
async function deviceGroup(settings: LaunchSettings): Promise<number> {
  if (settings.deviceGid !== undefined) {
    return settings.deviceGid;
  }
  const seenAt = `${settings.hostRoot}${settings.device}`;
  let stats;
  try {
    stats = await stat(seenAt);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
    throw new SetupError(
      `Reading the group of ${settings.device} at ${seenAt} failed (${code}). Enable I2C on ` +
        `this node, or bind-mount the node's ${settings.device} at ${seenAt} read-only ` +
        `(GLITTER_HOST_ROOT sets the folder), or set GLITTER_DEVICE_GID.`,
      { cause: error },
    );
  }
  if (!stats.isCharacterDevice()) {
    throw new SetupError(
      `${seenAt} is not a character device; GLITTER_DEVICE must name the node's I2C device, ` +
        `such as /dev/i2c-1.`,
    );
  }
  return stats.gid;
}

/** Result of one run of the child. */
type ChildOutcome =
  | { readonly kind: "stopped" }
  | { readonly kind: "exited"; readonly statusCode: number; readonly runMs: number }
  | { readonly kind: "failed"; readonly error: unknown };

/**
 * Runs the launcher until `signal` aborts. It removes children left by an earlier launcher,
 * starts the child and copies its output. When the child exits or cannot start, it starts it
 * again after a doubling delay. On abort it stops the child (SIGTERM, then SIGKILL after the
 * stop timeout) and removes it.
 *
 * @throws SetupError when the engine cannot be reached or the child's image cannot be found.
 */
export async function runLauncher(
  settings: LaunchSettings,
  deps: LaunchDependencies,
): Promise<void> {
  const { signal } = deps;
  // Marks the launcher's own lines, since the child's lines, copied to the same output, are
  // glitter's too.
  const log = deps.log.child({ component: "launcher" });
  const engine = new DockerEngine({
    socketPath: settings.socketPath,
    apiVersion: settings.apiVersion,
  });
  const launcherId = (deps.ownContainerId ?? findOwnContainerId)() ?? hostname();

  await connect(engine, settings, log);
  const image = settings.image ?? (await ownImage(engine, launcherId, log));
  log.info(
    {
      image,
      device: settings.emulate ? "emulated" : settings.device,
      child: settings.childName,
      command: settings.childCommand,
    },
    "launcher started",
  );

  const child: ChildRunner = {
    engine,
    settings,
    image,
    launcherId,
    log,
    signal,
    stdout: deps.stdout ?? process.stdout,
    stderr: deps.stderr ?? process.stderr,
  };
  let failures = 0;
  let lastMessage = "";
  while (!signal.aborted) {
    let outcome: ChildOutcome;
    try {
      await removeChildren(child, "removing a child container left by an earlier run");
      outcome = await runChild(child);
    } catch (error) {
      outcome = { kind: "failed", error };
    }
    if (outcome.kind === "stopped" || isAborted(signal)) {
      break;
    }

    // A child that ran for longer than the longest delay counts as healthy again.
    failures =
      outcome.kind === "exited" && outcome.runMs >= settings.restartDelayMs.max ? 1 : failures + 1;
    const delayMs = Math.min(
      settings.restartDelayMs.initial * 2 ** (failures - 1),
      settings.restartDelayMs.max,
    );
    if (outcome.kind === "exited") {
      log.warn(
        { statusCode: outcome.statusCode, ranMs: outcome.runMs, restartInMs: delayMs, failures },
        "child container exited; restarting it",
      );
    } else {
      const message =
        outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      // With the delay capped, a failure repeats at most once a minute. It is logged as an
      // error when its message changes and after 1, 2, 4, 8... failures, else at debug level.
      const level =
        message !== lastMessage || (failures & (failures - 1)) === 0 ? "error" : "debug";
      lastMessage = message;
      log[level](
        { err: outcome.error, restartInMs: delayMs, failures },
        "child container failed to run; retrying",
      );
    }
    try {
      await sleep(delayMs, undefined, { signal });
    } catch {
      break;
    }
  }
  log.info("launcher stopped");
}

/** Everything one run of the child needs. */
interface ChildRunner {
  readonly engine: DockerEngine;
  readonly settings: LaunchSettings;
  readonly image: string;
  readonly launcherId: string;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

async function connect(engine: DockerEngine, settings: LaunchSettings, log: Logger): Promise<void> {
  try {
    const version = await engine.negotiate();
    log.info(
      { engine: version.Version, apiVersion: engine.apiVersion, socket: settings.socketPath },
      "connected to the Docker Engine",
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const fix =
      code === "ENOENT"
        ? `Mount the node's Docker socket into this container: ` +
          `-v /var/run/docker.sock:${settings.socketPath}.`
        : code === "EACCES"
          ? `Run the launcher as root or with the group of the socket (--group-add).`
          : `Check that the Docker Engine runs on this node.`;
    throw new SetupError(
      `Connecting to the Docker Engine at ${settings.socketPath} failed: ` +
        `${(error as Error).message}. ${fix}`,
      { cause: error },
    );
  }
}

async function ownImage(engine: DockerEngine, launcherId: string, log: Logger): Promise<string> {
  const own = await engine.inspectContainer(launcherId);
  if (own === undefined) {
    throw new SetupError(
      `This launcher is not in a container of this engine (looked up ${describeValue(launcherId)}), ` +
        `so it cannot reuse its own image; set GLITTER_IMAGE to the glitter image for the child.`,
    );
  }
  log.debug({ image: own.Config.Image, imageId: own.Image }, "child uses the launcher's image");
  return own.Image;
}

/** Stops and removes every container on this engine that carries the child label. */
async function removeChildren(child: ChildRunner, message: string): Promise<void> {
  const { engine, log, settings } = child;
  const found = await engine.listContainers({ label: [`${CHILD_ROLE_LABEL}=child`] });
  for (const container of found) {
    log.info(
      {
        container: container.Id.slice(0, 12),
        containerName: container.Names[0],
        state: container.State,
        launcher: container.Labels[CHILD_LAUNCHER_LABEL],
      },
      message,
    );
    // AutoRemove and DELETE both return before the name is free, so the launcher waits for the
    // removal; otherwise creating the next child could fail with a name conflict.
    const controller = new AbortController();
    const removal = await engine.waitContainer(container.Id, "removed", controller.signal);
    if (container.State === "running") {
      // A graceful stop lets that glitter clear the LEDs; the new child clears them too.
      await engine.stopContainer(container.Id, settings.stopTimeoutSeconds);
    }
    await engine.removeContainer(container.Id, true);
    await Promise.race([
      removal.result.catch(() => undefined),
      sleep(REMOVAL_WAIT_MS, undefined, { ref: false }),
    ]);
    controller.abort();
  }
}

/** Creates, starts and watches one child container until it exits or the signal aborts. */
async function runChild(child: ChildRunner): Promise<ChildOutcome> {
  const { engine, settings, log, signal } = child;
  if (signal.aborted) {
    return { kind: "stopped" };
  }
  const gid = settings.emulate ? undefined : await deviceGroup(settings);
  const body = childCreateBody(settings, child.image, gid, child.launcherId);
  const id = await engine.createContainer(settings.childName, body);
  const container = id.slice(0, 12);

  let wait: ContainerWait;
  try {
    // The wait request goes first, so an exit right after start cannot be missed.
    wait = await engine.waitContainer(id, "removed");
    if (isAborted(signal)) {
      await engine.removeContainer(id, true);
      return { kind: "stopped" };
    }
    await engine.startContainer(id);
  } catch (error) {
    await engine.removeContainer(id, true).catch(() => undefined);
    throw error;
  }
  const startedAt = Date.now();
  log.info(
    { container, containerName: settings.childName, groupAdd: body.HostConfig.GroupAdd },
    "child container started",
  );

  const logs = copyLogs(child, id);
  const aborted = new Promise<"aborted">((resolve) => {
    if (signal.aborted) {
      resolve("aborted");
    }
    signal.addEventListener("abort", () => resolve("aborted"), { once: true });
  });
  const first = await Promise.race([wait.result, aborted]);

  if (first !== "aborted") {
    await logs.drain();
    return { kind: "exited", statusCode: first.StatusCode, runMs: Date.now() - startedAt };
  }
  await stopChild(child, id, wait);
  await logs.drain();
  return { kind: "stopped" };
}

/**
 * Stops the child so that glitter clears the LEDs, waits for AutoRemove, and removes it
 * itself when the engine did not.
 */
async function stopChild(child: ChildRunner, id: string, wait: ContainerWait): Promise<void> {
  const { engine, settings, log } = child;
  const container = id.slice(0, 12);
  log.info(
    { container, timeoutSeconds: settings.stopTimeoutSeconds },
    "stopping the child container",
  );
  await engine.stopContainer(id, settings.stopTimeoutSeconds);

  const removed = await Promise.race([
    wait.result.catch((error: unknown) => error),
    // An unreferenced timer, so the race does not keep the process alive once it is decided.
    sleep(REMOVAL_WAIT_MS, "timeout" as const, { ref: false }),
  ]);
  if (removed === "timeout" || removed instanceof Error) {
    log.warn(
      { container, err: removed === "timeout" ? undefined : removed },
      "the engine did not remove the stopped child container; removing it",
    );
    await engine.removeContainer(id, true);
    log.info({ container }, "child container removed");
    return;
  }
  await engine.removeContainer(id, true);
  log.info(
    { container, statusCode: (removed as { StatusCode: number }).StatusCode },
    "child container stopped and removed",
  );
}

/** Copies the child's stdout and stderr to the launcher's, so service logs show them. */
function copyLogs(child: ChildRunner, id: string): { drain(): Promise<void> } {
  const controller = new AbortController();
  const copying = child.engine
    .followLogs(
      id,
      (stream, chunk) => {
        (stream === "stderr" ? child.stderr : child.stdout).write(chunk);
      },
      controller.signal,
    )
    .catch((error: unknown) => {
      if (!controller.signal.aborted && !isMissingContainer(error)) {
        child.log.warn(
          { err: error, container: id.slice(0, 12) },
          "reading the child's logs failed",
        );
      }
    });
  return {
    async drain() {
      await Promise.race([copying, sleep(LOG_DRAIN_MS, undefined, { ref: false })]);
      controller.abort();
    },
  };
}

/**
 * Reads `signal.aborted` through a call, because TypeScript keeps a narrowed `aborted` across
 * an `await` as if it could not change meanwhile.
 */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

function isMissingContainer(error: unknown): boolean {
  return error instanceof DockerEngineError && error.statusCode === 404;
}
