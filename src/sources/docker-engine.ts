import { request, type IncomingMessage } from "node:http";

/**
 * A small client for the Docker Engine API over its unix socket, with the few container calls
 * that `glitter launch` needs. It uses node:http only, so glitter gains no dependency.
 */

/**
 * The API version requested when the engine allows it: Docker 20.10's. Newer engines serve it
 * too unless their minimum is higher, as Docker 29.0's 1.44 is. Then the engine's minimum is
 * used, because the calls here have not changed between those versions.
 */
export const PREFERRED_API_VERSION = "1.41";

/** Default for requests other than wait and logs, which stay open while the container runs. */
const REQUEST_TIMEOUT_MS = 30_000;

/** An error response of the Engine API, or a failed request to it. */
export class DockerEngineError extends Error {
  override name = "DockerEngineError";
  /** HTTP status of the response; undefined when no response arrived. */
  readonly statusCode: number | undefined;

  constructor(message: string, statusCode: number | undefined, options?: ErrorOptions) {
    super(message, options);
    this.statusCode = statusCode;
  }
}

/** The part of `GET /version` that API version negotiation reads. */
export interface EngineVersion {
  readonly Version: string;
  readonly ApiVersion: string;
  readonly MinAPIVersion?: string;
  readonly Os?: string;
  readonly Arch?: string;
}

/** One entry of `GET /containers/json`. */
export interface ContainerSummary {
  readonly Id: string;
  readonly Names: readonly string[];
  readonly Image: string;
  readonly State: string;
  readonly Labels: Readonly<Record<string, string>>;
}

/** The part of `GET /containers/{id}/json` that the launcher reads. */
export interface ContainerInspect {
  readonly Id: string;
  /** Image ID, `sha256:...`. */
  readonly Image: string;
  readonly Config: { readonly Image: string };
}

/** A device mapping of `HostConfig.Devices`, as `docker run --device` sends it. */
export interface DeviceMapping {
  readonly PathOnHost: string;
  readonly PathInContainer: string;
  readonly CgroupPermissions: string;
}

/** The body of `POST /containers/create`, limited to the fields that glitter sets. */
export interface ContainerCreateBody {
  readonly Image: string;
  readonly Cmd?: readonly string[];
  readonly Env?: readonly string[];
  readonly Labels?: Readonly<Record<string, string>>;
  /** Seconds between the stop signal and SIGKILL when the container is stopped. */
  readonly StopTimeout?: number;
  readonly HostConfig: {
    readonly AutoRemove?: boolean;
    readonly Devices?: readonly DeviceMapping[];
    readonly GroupAdd?: readonly string[];
    readonly ReadonlyRootfs?: boolean;
    readonly CapDrop?: readonly string[];
    readonly SecurityOpt?: readonly string[];
    readonly NetworkMode?: string;
    readonly Init?: boolean;
  };
}

/** The body of a `POST /containers/{id}/wait` response. */
export interface WaitResult {
  readonly StatusCode: number;
  readonly Error?: { readonly Message?: string } | null;
}

/** A wait request that the engine has accepted; `result` settles when the condition is met. */
export interface ContainerWait {
  readonly result: Promise<WaitResult>;
}

interface RequestOptions {
  readonly method: "GET" | "POST" | "DELETE";
  readonly path: string;
  readonly body?: unknown;
  /** Idle time on the socket before the request fails; 0 for none. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Returns the socket path from a `DOCKER_HOST` value, or the default socket when it is unset.
 *
 * @throws Error for any scheme other than `unix://`, since only the local engine is supported.
 */
export function dockerSocketPath(dockerHost: string | undefined): string {
  if (dockerHost === undefined || dockerHost === "") {
    return "/var/run/docker.sock";
  }
  if (!dockerHost.startsWith("unix://") || dockerHost.length <= "unix://".length) {
    throw new Error(
      `DOCKER_HOST must be unix:///path/to/docker.sock, got ${JSON.stringify(dockerHost)}; ` +
        `glitter launch talks to the engine of its own node only.`,
    );
  }
  return dockerHost.slice("unix://".length);
}

function compareVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split(".").map(Number);
  const [bMajor = 0, bMinor = 0] = b.split(".").map(Number);
  return aMajor === bMajor ? aMinor - bMinor : aMajor - bMajor;
}

/**
 * Picks the API version to use with an engine: the preferred one when the engine serves it,
 * else the engine's minimum when that is newer.
 *
 * @throws DockerEngineError when the engine is older than the preferred version.
 */
export function chooseApiVersion(engine: EngineVersion, preferred = PREFERRED_API_VERSION): string {
  if (compareVersions(engine.ApiVersion, preferred) < 0) {
    throw new DockerEngineError(
      `Docker ${engine.Version} serves API ${engine.ApiVersion}, older than the ${preferred} ` +
        `that glitter needs; upgrade the engine to Docker 20.10 or later.`,
      undefined,
    );
  }
  const minimum = engine.MinAPIVersion;
  if (minimum !== undefined && compareVersions(minimum, preferred) > 0) {
    return minimum;
  }
  return preferred;
}

async function readBody(response: IncomingMessage): Promise<string> {
  response.setEncoding("utf8");
  let text = "";
  for await (const chunk of response) {
    text += chunk as string;
  }
  return text;
}

function engineMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === "string") {
      return parsed.message;
    }
  } catch {
    // Not JSON: use the text as it is.
  }
  return text.trim();
}

/** A Docker Engine reached through a unix socket, with version-prefixed request paths. */
export class DockerEngine {
  readonly socketPath: string;
  readonly #timeoutMs: number;
  #apiVersion: string | undefined;

  /**
   * `apiVersion` skips negotiation, as `DOCKER_API_VERSION` does for the docker client.
   * `timeoutMs` limits the idle time of each request except wait, logs and stop.
   */
  constructor(options: {
    socketPath: string;
    apiVersion?: string | undefined;
    timeoutMs?: number | undefined;
  }) {
    this.socketPath = options.socketPath;
    this.#apiVersion = options.apiVersion === "" ? undefined : options.apiVersion;
    this.#timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  }

  /** The API version in use; undefined until negotiated or given. */
  get apiVersion(): string | undefined {
    return this.#apiVersion;
  }

  /** Reads the engine's version from the unversioned `/version` path and picks the API version. */
  async negotiate(): Promise<EngineVersion> {
    const version = (await this.#json({ method: "GET", path: "/version" })) as EngineVersion;
    this.#apiVersion ??= chooseApiVersion(version);
    return version;
  }

  /** Returns the container, or undefined when the engine has no container by that ID or name. */
  async inspectContainer(id: string): Promise<ContainerInspect | undefined> {
    try {
      return (await this.#json({
        method: "GET",
        path: this.#versioned(`/containers/${encodeURIComponent(id)}/json`),
      })) as ContainerInspect;
    } catch (error) {
      if (error instanceof DockerEngineError && error.statusCode === 404) {
        return undefined;
      }
      throw error;
    }
  }

  /** Lists containers, stopped ones included, that match the filters, e.g. `{ label: ["a=b"] }`. */
  async listContainers(filters: Record<string, string[]>): Promise<ContainerSummary[]> {
    const query = new URLSearchParams({ all: "1", filters: JSON.stringify(filters) });
    return (await this.#json({
      method: "GET",
      path: this.#versioned(`/containers/json?${query.toString()}`),
    })) as ContainerSummary[];
  }

  /** Creates a container and returns its ID. */
  async createContainer(name: string, body: ContainerCreateBody): Promise<string> {
    const query = new URLSearchParams({ name });
    const created = (await this.#json({
      method: "POST",
      path: this.#versioned(`/containers/create?${query.toString()}`),
      body,
    })) as { Id: string };
    return created.Id;
  }

  async startContainer(id: string): Promise<void> {
    await this.#json({
      method: "POST",
      path: this.#versioned(`/containers/${encodeURIComponent(id)}/start`),
    });
  }

  /**
   * Stops a container: the engine sends its stop signal, then SIGKILL after `timeoutSeconds`,
   * and responds once it has exited. Returns false when it was not running or does not exist.
   */
  async stopContainer(id: string, timeoutSeconds: number): Promise<boolean> {
    try {
      const { status } = await this.#call({
        method: "POST",
        path: this.#versioned(`/containers/${encodeURIComponent(id)}/stop?t=${timeoutSeconds}`),
        timeoutMs: (timeoutSeconds + 30) * 1000,
      });
      return status !== 304;
    } catch (error) {
      if (error instanceof DockerEngineError && error.statusCode === 404) {
        return false;
      }
      throw error;
    }
  }

  /**
   * Removes a container, killing it first when `force` is set. Returns false when it was
   * already gone or its removal is already in progress, as after AutoRemove.
   */
  async removeContainer(id: string, force: boolean): Promise<boolean> {
    try {
      await this.#call({
        method: "DELETE",
        path: this.#versioned(`/containers/${encodeURIComponent(id)}?force=${force ? 1 : 0}`),
      });
      return true;
    } catch (error) {
      if (
        error instanceof DockerEngineError &&
        (error.statusCode === 404 ||
          (error.statusCode === 409 && /in progress/i.test(error.message)))
      ) {
        return false;
      }
      throw error;
    }
  }

  /**
   * Sends a wait request and resolves once the engine has accepted it, so a container started
   * after that cannot exit unseen. The engine registers the waiter before it sends the response
   * headers. `condition` is `not-running`, `next-exit` or `removed`.
   */
  async waitContainer(
    id: string,
    condition: "not-running" | "next-exit" | "removed",
    signal?: AbortSignal,
  ): Promise<ContainerWait> {
    const response = await this.#send({
      method: "POST",
      path: this.#versioned(`/containers/${encodeURIComponent(id)}/wait?condition=${condition}`),
      timeoutMs: 0,
      signal,
    });
    const result = readBody(response).then((text) => {
      if ((response.statusCode ?? 0) >= 400) {
        throw new DockerEngineError(
          `Waiting for container ${id} failed: ${engineMessage(text)}`,
          response.statusCode,
        );
      }
      return JSON.parse(text) as WaitResult;
    });
    // The caller may not await the result before it settles, so an early rejection must not
    // count as unhandled. The caller still sees it when it awaits.
    result.catch(() => undefined);
    return { result };
  }

  /**
   * Follows a container's stdout and stderr until it is removed or `signal` aborts, passing each
   * chunk to `onOutput`. Only for containers created without a TTY, whose log stream the
   * engine multiplexes in frames of an 8-byte header (stream, 3 zero bytes, big-endian size)
   * and the payload.
   */
  async followLogs(
    id: string,
    onOutput: (stream: "stdout" | "stderr", chunk: Buffer) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const response = await this.#send({
      method: "GET",
      path: this.#versioned(
        `/containers/${encodeURIComponent(id)}/logs?follow=1&stdout=1&stderr=1`,
      ),
      timeoutMs: 0,
      signal,
    });
    if ((response.statusCode ?? 0) >= 400) {
      const text = await readBody(response);
      throw new DockerEngineError(
        `Reading the logs of container ${id} failed: ${engineMessage(text)}`,
        response.statusCode,
      );
    }
    const demultiplexer = new LogDemultiplexer(onOutput);
    for await (const chunk of response) {
      demultiplexer.push(chunk as Buffer);
    }
  }

  #versioned(path: string): string {
    if (this.#apiVersion === undefined) {
      throw new Error("DockerEngine.negotiate() must run before versioned requests.");
    }
    return `/v${this.#apiVersion}${path}`;
  }

  /** Sends a request and resolves with the response as soon as its headers arrive. */
  #send(options: RequestOptions): Promise<IncomingMessage> {
    const { method, path, body, signal } = options;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const outgoing = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: {
            Host: "docker",
            ...(payload === undefined
              ? {}
              : {
                  "Content-Type": "application/json",
                  "Content-Length": Buffer.byteLength(payload),
                }),
          },
          signal,
        },
        resolve,
      );
      if (timeoutMs > 0) {
        outgoing.setTimeout(timeoutMs, () => {
          outgoing.destroy(
            new DockerEngineError(
              `${method} ${path} on ${this.socketPath} timed out after ${timeoutMs} ms.`,
              undefined,
            ),
          );
        });
      }
      outgoing.on("error", reject);
      outgoing.end(payload);
    });
  }

  /** Sends a request and reads its body, raising a DockerEngineError for 4xx and 5xx. */
  async #call(options: RequestOptions): Promise<{ status: number; text: string }> {
    const response = await this.#send(options);
    const text = await readBody(response);
    const status = response.statusCode ?? 0;
    if (status >= 400) {
      throw new DockerEngineError(
        `${options.method} ${options.path} failed with HTTP ${status}: ${engineMessage(text)}`,
        status,
      );
    }
    return { status, text };
  }

  /** Sends a request and parses its JSON body; an empty body gives undefined. */
  async #json(options: RequestOptions): Promise<unknown> {
    const { text } = await this.#call(options);
    return text === "" ? undefined : (JSON.parse(text) as unknown);
  }
}

/** Splits the engine's multiplexed log stream into stdout and stderr payloads. */
export class LogDemultiplexer {
  readonly #onOutput: (stream: "stdout" | "stderr", chunk: Buffer) => void;
  #pending: Buffer = Buffer.alloc(0);

  constructor(onOutput: (stream: "stdout" | "stderr", chunk: Buffer) => void) {
    this.#onOutput = onOutput;
  }

  push(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 8) {
      const size = this.#pending.readUInt32BE(4);
      if (this.#pending.length < 8 + size) {
        return;
      }
      // Stream 1 is stdout and 2 stderr; 0 (stdin) never appears in logs.
      const stream = this.#pending[0] === 2 ? "stderr" : "stdout";
      this.#onOutput(stream, this.#pending.subarray(8, 8 + size));
      this.#pending = this.#pending.subarray(8 + size);
    }
  }
}
