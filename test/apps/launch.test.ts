import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";
import {
  CHILD_LAUNCHER_LABEL,
  CHILD_ROLE_LABEL,
  launchSettings,
  runLauncher,
  type LaunchSettings,
} from "../../src/apps/launch.js";
import type { ContainerCreateBody } from "../../src/sources/docker-engine.js";
import { memoryLogger } from "../helpers/memory-logger.js";

const CLI = fileURLToPath(new URL("../../src/cli.js", import.meta.url));
const IMAGE_ID = "sha256:0123456789abcdef";

interface FakeContainer {
  readonly id: string;
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly autoRemove: boolean;
  state: "created" | "running" | "exited";
  exitCode: number;
  readonly waiters: ServerResponse[];
  readonly logStreams: ServerResponse[];
}

/** Builds one multiplexed log frame: the engine's 8-byte header, then the payload. */
function logFrame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/**
 * A Docker Engine API stand-in on a unix socket: enough of /version and /v1.41/containers to
 * run the launcher, with AutoRemove, wait on `removed` and followed logs. Every request is
 * recorded as `METHOD /path` without the version prefix and query.
 */
class FakeEngine {
  readonly requests: string[] = [];
  readonly created: ContainerCreateBody[] = [];
  readonly containers = new Map<string, FakeContainer>();
  /** Status and message for the next start requests, to make them fail. */
  readonly startFailures: { status: number; message: string }[] = [];
  readonly socketPath: string;
  readonly #server: Server;
  #nextId = 1;
  #lastCreated: string | undefined;

  private constructor(socketPath: string) {
    this.socketPath = socketPath;
    this.#server = createServer((request, response) => {
      this.#handle(request, response);
    });
  }

  static async start(directory: string): Promise<FakeEngine> {
    const engine = new FakeEngine(join(directory, "docker.sock"));
    engine.#server.listen(engine.socketPath);
    await once(engine.#server, "listening");
    return engine;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, "close");
  }

  /** Adds a container as if an earlier launcher had left it. */
  addContainer(name: string, labels: Record<string, string>, state: "running" | "exited"): string {
    const id = this.#newId();
    this.containers.set(id, {
      id,
      name,
      labels,
      autoRemove: true,
      state,
      exitCode: 0,
      waiters: [],
      logStreams: [],
    });
    return id;
  }

  /** Ends a running container with `code`, as a crash would. */
  exit(id: string, code: number): void {
    const container = this.containers.get(id);
    assert.ok(container !== undefined, `no container ${id}`);
    container.state = "exited";
    container.exitCode = code;
    if (container.autoRemove) {
      this.#remove(container);
    }
  }

  /** Returns the ID of the last container created. */
  lastCreatedId(): string {
    assert.ok(this.#lastCreated !== undefined, "no container created yet");
    return this.#lastCreated;
  }

  /** Resolves once `count` requests equal to `request` have arrived. */
  async waitForRequest(request: string, count = 1): Promise<void> {
    const deadline = Date.now() + 5000;
    while (this.requests.filter((seen) => seen === request).length < count) {
      if (Date.now() > deadline) {
        assert.fail(`timed out waiting for ${count} × ${request}; got ${this.requests.join(", ")}`);
      }
      await sleep(5);
    }
  }

  #newId(): string {
    const id = this.#nextId.toString(16).padStart(64, "0");
    this.#nextId += 1;
    return id;
  }

  #remove(container: FakeContainer): void {
    this.containers.delete(container.id);
    for (const waiter of container.waiters) {
      waiter.end(JSON.stringify({ StatusCode: container.exitCode, Error: null }));
    }
    for (const stream of container.logStreams) {
      stream.end();
    }
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? "/", "http://docker");
    const path = url.pathname.replace(/^\/v1\.41/, "");
    this.requests.push(`${request.method ?? "?"} ${path}`);
    const reply = (status: number, body?: unknown): void => {
      response.writeHead(status, { "Content-Type": "application/json" });
      response.end(body === undefined ? undefined : JSON.stringify(body));
    };

    if (url.pathname === "/version") {
      reply(200, { Version: "20.10.24", ApiVersion: "1.41", MinAPIVersion: "1.12" });
      return;
    }
    if (!url.pathname.startsWith("/v1.41/")) {
      reply(400, { message: `unversioned path ${url.pathname}` });
      return;
    }
    if (request.method === "GET" && path === "/containers/json") {
      const filters = JSON.parse(url.searchParams.get("filters") ?? "{}") as {
        label?: string[];
      };
      const matches = [...this.containers.values()].filter((container) =>
        (filters.label ?? []).every((wanted) => {
          const [key = "", value] = wanted.split("=");
          return value === undefined ? key in container.labels : container.labels[key] === value;
        }),
      );
      reply(
        200,
        matches.map((container) => ({
          Id: container.id,
          Names: [`/${container.name}`],
          Image: IMAGE_ID,
          State: container.state,
          Labels: container.labels,
        })),
      );
      return;
    }
    if (request.method === "POST" && path === "/containers/create") {
      let text = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => (text += chunk));
      request.on("end", () => {
        const body = JSON.parse(text) as ContainerCreateBody;
        const name = url.searchParams.get("name") ?? "";
        if ([...this.containers.values()].some((container) => container.name === name)) {
          reply(409, { message: `Conflict. The container name "/${name}" is already in use` });
          return;
        }
        this.created.push(body);
        const id = this.#newId();
        this.#lastCreated = id;
        this.containers.set(id, {
          id,
          name,
          labels: { ...body.Labels },
          autoRemove: body.HostConfig.AutoRemove === true,
          state: "created",
          exitCode: 0,
          waiters: [],
          logStreams: [],
        });
        reply(201, { Id: id, Warnings: [] });
      });
      return;
    }

    const match = /^\/containers\/([^/]+)(\/[a-z]+)?$/.exec(path);
    const key = match?.[1] ?? "";
    const action = match?.[2] ?? "";
    if (match !== null && request.method === "GET" && action === "/json") {
      if (key !== "launcher-1") {
        reply(404, { message: `No such container: ${key}` });
        return;
      }
      reply(200, { Id: "launcher-1", Image: IMAGE_ID, Config: { Image: "glitter:test" } });
      return;
    }
    const container = this.containers.get(key);
    if (container === undefined) {
      reply(404, { message: `No such container: ${key}` });
      return;
    }
    if (request.method === "POST" && action === "/wait") {
      // The real engine registers the waiter, then sends the headers at once.
      response.writeHead(200, { "Content-Type": "application/json" });
      response.flushHeaders();
      container.waiters.push(response);
    } else if (request.method === "POST" && action === "/start") {
      const failure = this.startFailures.shift();
      if (failure !== undefined) {
        reply(failure.status, { message: failure.message });
        return;
      }
      container.state = "running";
      reply(204);
    } else if (request.method === "GET" && action === "/logs") {
      response.writeHead(200, { "Content-Type": "application/vnd.docker.raw-stream" });
      response.write(logFrame(2, '{"msg":"child line on stderr"}\n'));
      response.write(logFrame(1, '{"frame":1}\n'));
      container.logStreams.push(response);
    } else if (request.method === "POST" && action === "/stop") {
      if (container.state !== "running") {
        reply(304);
        return;
      }
      reply(204);
      this.exit(container.id, 0);
    } else if (request.method === "DELETE" && action === "") {
      if (container.state === "running") {
        container.exitCode = 137;
      }
      reply(204);
      this.#remove(container);
    } else {
      reply(404, { message: `unknown request ${request.method ?? "?"} ${path}` });
    }
  }
}

interface LogLine {
  level: number;
  msg: string;
  component?: string;
  statusCode?: number;
  restartInMs?: number;
  failures?: number;
  container?: string;
  err?: { message: string };
}

function memoryOutput() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join("") };
}

const scratch = mkdtempSync(join(tmpdir(), "glitter-launch-"));
after(() => {
  rmSync(scratch, { recursive: true, force: true });
});
let engineCount = 0;

async function startEngine(): Promise<FakeEngine> {
  engineCount += 1;
  const directory = join(scratch, String(engineCount));
  mkdirSync(directory);
  return FakeEngine.start(directory);
}

function settingsFor(engine: FakeEngine, changes: Partial<LaunchSettings> = {}): LaunchSettings {
  return {
    ...launchSettings(["cpu", "--style", "arms"], {
      DOCKER_HOST: `unix://${engine.socketPath}`,
      GLITTER_DEVICE: "/dev/null",
    }),
    restartDelayMs: { initial: 20, max: 80 },
    ...changes,
  };
}

/** Runs the launcher against `engine` until the test aborts it. */
function launch(engine: FakeEngine, settings: LaunchSettings) {
  const controller = new AbortController();
  const { log, lines } = memoryLogger<LogLine>();
  const stdout = memoryOutput();
  const stderr = memoryOutput();
  const done = runLauncher(settings, {
    log,
    signal: controller.signal,
    stdout: stdout.stream,
    stderr: stderr.stream,
    ownContainerId: () => "launcher-1",
  });
  return { controller, lines, stdout, stderr, done };
}

describe("glitter launch against a fake Engine API", () => {
  test("creates, starts, stops and removes the child", async () => {
    const engine = await startEngine();
    const run = launch(engine, settingsFor(engine));
    await engine.waitForRequest("POST /containers/create");
    const id = engine.lastCreatedId();
    await engine.waitForRequest(`GET /containers/${id}/logs`);

    run.controller.abort();
    await run.done;
    await engine.close();

    assert.deepEqual(engine.requests, [
      "GET /version",
      "GET /containers/launcher-1/json",
      "GET /containers/json",
      "POST /containers/create",
      `POST /containers/${id}/wait`,
      `POST /containers/${id}/start`,
      `GET /containers/${id}/logs`,
      `POST /containers/${id}/stop`,
      `DELETE /containers/${id}`,
    ]);
    assert.equal(engine.containers.size, 0);
    assert.match(run.stderr.text(), /child line on stderr/);
    assert.match(run.stdout.text(), /"frame":1/);
    const messages = run.lines.map((line) => line.msg);
    assert.ok(messages.includes("child container started"), messages.join(" | "));
    assert.ok(messages.includes("child container stopped and removed"), messages.join(" | "));
    assert.equal(messages.at(-1), "launcher stopped");
    assert.ok(run.lines.every((line) => line.component === "launcher"));
  });

  test("child gets the device, its group and the image", async () => {
    const engine = await startEngine();
    const run = launch(engine, settingsFor(engine));
    await engine.waitForRequest("POST /containers/create");
    run.controller.abort();
    await run.done;
    await engine.close();

    const body = engine.created[0];
    assert.ok(body !== undefined);
    assert.equal(body.Image, IMAGE_ID);
    assert.deepEqual(body.Cmd, ["cpu", "--style", "arms"]);
    assert.deepEqual(body.Env, ["GLITTER_BUS=1"]);
    assert.equal(body.StopTimeout, 5);
    const labels = body.Labels ?? {};
    assert.equal(labels[CHILD_ROLE_LABEL], "child");
    assert.equal(labels[CHILD_LAUNCHER_LABEL], "launcher-1");
    assert.deepEqual(body.HostConfig.Devices, [
      { PathOnHost: "/dev/null", PathInContainer: "/dev/i2c-1", CgroupPermissions: "rw" },
    ]);
    assert.deepEqual(body.HostConfig.GroupAdd, [String(statSync("/dev/null").gid)]);
    assert.equal(body.HostConfig.AutoRemove, true);
    assert.equal(body.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(body.HostConfig.CapDrop, ["ALL"]);
    assert.deepEqual(body.HostConfig.SecurityOpt, ["no-new-privileges"]);
    assert.equal(body.HostConfig.NetworkMode, "none");
  });

  test("emulated child has no device", async () => {
    const engine = await startEngine();
    const run = launch(engine, settingsFor(engine, { emulate: true, image: "glitter:demo" }));
    await engine.waitForRequest("POST /containers/create");
    run.controller.abort();
    await run.done;
    await engine.close();

    const body = engine.created[0];
    assert.ok(body !== undefined);
    assert.equal(body.Image, "glitter:demo");
    assert.deepEqual(body.Env, ["GLITTER_EMULATE=1"]);
    assert.deepEqual(body.HostConfig.Devices, []);
    assert.deepEqual(body.HostConfig.GroupAdd, []);
    assert.ok(!engine.requests.includes("GET /containers/launcher-1/json"));
  });

  test("removes a stale child first", async () => {
    const engine = await startEngine();
    const stale = engine.addContainer(
      "glitter-piglow",
      { [CHILD_ROLE_LABEL]: "child", [CHILD_LAUNCHER_LABEL]: "old-launcher" },
      "running",
    );
    const other = engine.addContainer("unrelated", { "some.label": "x" }, "running");
    const run = launch(engine, settingsFor(engine));
    await engine.waitForRequest("POST /containers/create");
    run.controller.abort();
    await run.done;
    await engine.close();

    const createAt = engine.requests.indexOf("POST /containers/create");
    const stopAt = engine.requests.indexOf(`POST /containers/${stale}/stop`);
    const deleteAt = engine.requests.indexOf(`DELETE /containers/${stale}`);
    assert.ok(stopAt >= 0, engine.requests.join(", "));
    assert.ok(deleteAt > stopAt, engine.requests.join(", "));
    assert.ok(createAt > deleteAt, engine.requests.join(", "));
    assert.ok(engine.containers.has(other), "a container without the label stays");
    assert.ok(run.lines.some((line) => line.msg.startsWith("removing a child container left by")));
  });

  test("restarts a crashed child with a doubling delay", async () => {
    const engine = await startEngine();
    const run = launch(engine, settingsFor(engine));
    await engine.waitForRequest("POST /containers/create");
    const first = engine.lastCreatedId();
    await engine.waitForRequest(`POST /containers/${first}/start`);
    engine.exit(first, 1);

    await engine.waitForRequest("POST /containers/create", 2);
    const second = engine.lastCreatedId();
    await engine.waitForRequest(`POST /containers/${second}/start`);
    engine.exit(second, 2);

    await engine.waitForRequest("POST /containers/create", 3);
    const third = engine.lastCreatedId();
    await engine.waitForRequest(`POST /containers/${third}/start`);
    run.controller.abort();
    await run.done;
    await engine.close();

    const exits = run.lines.filter((line) => line.msg === "child container exited; restarting it");
    assert.equal(exits.length, 2);
    const [firstExit, secondExit] = exits;
    assert.ok(firstExit !== undefined);
    assert.ok(secondExit !== undefined);
    assert.equal(firstExit.statusCode, 1);
    assert.equal(firstExit.restartInMs, 20);
    assert.equal(secondExit.statusCode, 2);
    assert.equal(secondExit.restartInMs, 40);
    assert.ok(engine.requests.includes(`POST /containers/${third}/stop`));
    assert.equal(engine.containers.size, 0);
  });

  test("removes a child that failed to start and retries", async () => {
    const engine = await startEngine();
    engine.startFailures.push({
      status: 500,
      message: 'error gathering device information while adding custom device "/dev/i2c-1"',
    });
    const run = launch(engine, settingsFor(engine));
    await engine.waitForRequest("POST /containers/create", 2);
    const second = engine.lastCreatedId();
    await engine.waitForRequest(`POST /containers/${second}/start`);
    run.controller.abort();
    await run.done;
    await engine.close();

    const failed = run.lines.find((line) => line.msg === "child container failed to run; retrying");
    assert.ok(failed !== undefined);
    assert.match(failed.err?.message ?? "", /error gathering device information/);
    assert.equal(failed.failures, 1);
    const firstStart = engine.requests.findIndex((request) => request.endsWith("/start"));
    const removal = engine.requests.findIndex(
      (request, index) => index > firstStart && request.startsWith("DELETE "),
    );
    assert.ok(removal > firstStart, engine.requests.join(", "));
  });

  test("missing device is logged with its fix", async () => {
    const engine = await startEngine();
    const run = launch(engine, settingsFor(engine, { device: "/dev/no-such-i2c" }));
    const deadline = Date.now() + 5000;
    while (!run.lines.some((line) => line.msg === "child container failed to run; retrying")) {
      assert.ok(Date.now() < deadline, "no failure logged");
      await sleep(5);
    }
    run.controller.abort();
    await run.done;
    await engine.close();

    const failed = run.lines.find((line) => line.msg === "child container failed to run; retrying");
    assert.match(failed?.err?.message ?? "", /\/dev\/no-such-i2c.*ENOENT/);
    assert.match(failed?.err?.message ?? "", /GLITTER_DEVICE_GID/);
    assert.ok(!engine.requests.includes("POST /containers/create"));
  });

  test("engine without socket raises SetupError", async () => {
    const { log } = memoryLogger<LogLine>();
    const settings = launchSettings([], {
      DOCKER_HOST: `unix://${join(scratch, "missing.sock")}`,
    });
    await assert.rejects(
      runLauncher(settings, { log, signal: new AbortController().signal }),
      (error: Error) => {
        assert.equal(error.name, "SetupError");
        assert.match(error.message, /Mount the node's Docker socket/);
        return true;
      },
    );
  });

  test("launcher outside a container needs GLITTER_IMAGE", async () => {
    const engine = await startEngine();
    const { log } = memoryLogger<LogLine>();
    await assert.rejects(
      runLauncher(settingsFor(engine), {
        log,
        signal: new AbortController().signal,
        ownContainerId: () => "not-a-container",
      }),
      /set GLITTER_IMAGE/,
    );
    await engine.close();
  });
});

describe("launchSettings", () => {
  test("defaults", () => {
    const settings = launchSettings([], {});
    assert.equal(settings.socketPath, "/var/run/docker.sock");
    assert.equal(settings.device, "/dev/i2c-1");
    assert.equal(settings.hostRoot, "");
    assert.equal(settings.bus, 1);
    assert.equal(settings.emulate, false);
    assert.equal(settings.image, undefined);
    assert.equal(settings.deviceGid, undefined);
    assert.equal(settings.childName, "glitter-piglow");
    assert.deepEqual(settings.childCommand, ["cpu"]);
    assert.equal(settings.stopTimeoutSeconds, 5);
  });

  test("reads every variable", () => {
    const settings = launchSettings(["cpu", "--style", "classic"], {
      DOCKER_HOST: "unix:///run/docker.sock",
      DOCKER_API_VERSION: "1.44",
      GLITTER_IMAGE: "glitter:1",
      GLITTER_DEVICE: "/dev/i2c-0",
      GLITTER_HOST_ROOT: "/host/",
      GLITTER_DEVICE_GID: "998",
      GLITTER_BUS: "0",
      GLITTER_EMULATE: "1",
      GLITTER_CHILD_NAME: "lights",
      GLITTER_STOP_TIMEOUT: "12",
    });
    assert.equal(settings.socketPath, "/run/docker.sock");
    assert.equal(settings.apiVersion, "1.44");
    assert.equal(settings.image, "glitter:1");
    assert.equal(settings.device, "/dev/i2c-0");
    assert.equal(settings.hostRoot, "/host");
    assert.equal(settings.deviceGid, 998);
    assert.equal(settings.bus, 0);
    assert.equal(settings.emulate, true);
    assert.equal(settings.childName, "lights");
    assert.deepEqual(settings.childCommand, ["cpu", "--style", "classic"]);
    assert.equal(settings.stopTimeoutSeconds, 12);
  });

  const invalid: [Record<string, string>, RegExp][] = [
    [{ DOCKER_HOST: "tcp://10.0.0.1:2375" }, /DOCKER_HOST must be unix:\/\//],
    [{ GLITTER_EMULATE: "yes" }, /GLITTER_EMULATE must be 1 or 0, got "yes"/],
    [{ GLITTER_DEVICE: "i2c-1" }, /GLITTER_DEVICE must be an absolute path/],
    [{ GLITTER_DEVICE_GID: "-1" }, /GLITTER_DEVICE_GID must be an integer/],
    [{ GLITTER_BUS: "256" }, /GLITTER_BUS must be an integer from 0 to 255, got "256"/],
    [{ GLITTER_STOP_TIMEOUT: "0" }, /GLITTER_STOP_TIMEOUT must be an integer from 1 to 300/],
  ];
  for (const [env, message] of invalid) {
    test(`rejects ${Object.entries(env)[0]?.join("=") ?? ""}`, () => {
      assert.throws(() => launchSettings([], env), message);
    });
  }
});

describe("glitter launch end to end", () => {
  test("SIGTERM stops the child and exits 0", async () => {
    const engine = await startEngine();
    const child = spawn(process.execPath, [CLI, "launch", "--", "cpu", "--view", "json"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        DOCKER_HOST: `unix://${engine.socketPath}`,
        GLITTER_IMAGE: "glitter:test",
        GLITTER_EMULATE: "1",
      },
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    await engine.waitForRequest("POST /containers/create");
    const id = engine.lastCreatedId();
    await engine.waitForRequest(`GET /containers/${id}/logs`);

    const signalledAt = Date.now();
    child.kill("SIGTERM");
    const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
    const stopMs = Date.now() - signalledAt;
    await engine.close();

    assert.equal(signal, null, stderr);
    assert.equal(code, 0, stderr);
    assert.ok(stopMs < 2000, `exited ${stopMs} ms after SIGTERM:\n${stderr}`);
    assert.deepEqual(engine.created[0]?.Cmd, ["cpu", "--view", "json"]);
    assert.ok(engine.requests.includes(`POST /containers/${id}/stop`), engine.requests.join(", "));
    assert.equal(engine.containers.size, 0);
    assert.match(stderr, /child line on stderr/);
    assert.match(stderr, /"msg":"launcher stopped"/);
  });

  test("board options before -- are rejected", () => {
    const result = spawnSync(process.execPath, [CLI, "launch", "--view", "json"], {
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /options to the child after --/);
  });
});
