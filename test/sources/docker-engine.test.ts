import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  chooseApiVersion,
  DockerEngine,
  DockerEngineError,
  dockerSocketPath,
  LogDemultiplexer,
} from "../../src/sources/docker-engine.js";

const scratch = mkdtempSync(join(tmpdir(), "glitter-engine-"));
after(() => {
  rmSync(scratch, { recursive: true, force: true });
});
let serverCount = 0;

/**
 * Serves `handle` on a fresh unix socket and returns a client for it. Every request's method
 * and URL is recorded in `requests`.
 */
async function serve(
  handle: (request: IncomingMessage, response: ServerResponse) => void,
  options: { apiVersion?: string; timeoutMs?: number } = {},
) {
  serverCount += 1;
  const socketPath = join(scratch, `engine-${serverCount}.sock`);
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method ?? "?"} ${request.url ?? ""}`);
    handle(request, response);
  });
  server.listen(socketPath);
  await once(server, "listening");
  const engine = new DockerEngine({
    socketPath,
    apiVersion: options.apiVersion ?? "1.41",
    ...options,
  });
  const close = async () => {
    server.closeAllConnections();
    server.close();
    await once(server, "close");
  };
  return { engine, requests, close };
}

function json(response: ServerResponse, status: number, body?: unknown): void {
  response.writeHead(status, { "Content-Type": "application/json" });
  response.end(body === undefined ? undefined : JSON.stringify(body));
}

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe("dockerSocketPath", () => {
  test("defaults to /var/run/docker.sock", () => {
    assert.equal(dockerSocketPath(undefined), "/var/run/docker.sock");
    assert.equal(dockerSocketPath(""), "/var/run/docker.sock");
  });

  test("reads a unix:// DOCKER_HOST", () => {
    assert.equal(
      dockerSocketPath("unix:///run/user/1000/docker.sock"),
      "/run/user/1000/docker.sock",
    );
  });

  test("rejects other schemes", () => {
    assert.throws(() => dockerSocketPath("tcp://127.0.0.1:2375"), /must be unix:\/\//);
    assert.throws(() => dockerSocketPath("unix://"), /must be unix:\/\//);
  });
});

describe("chooseApiVersion", () => {
  test("prefers 1.41 where the engine serves it", () => {
    assert.equal(
      chooseApiVersion({ Version: "20.10.24", ApiVersion: "1.41", MinAPIVersion: "1.12" }),
      "1.41",
    );
    assert.equal(
      chooseApiVersion({ Version: "28.2.2", ApiVersion: "1.50", MinAPIVersion: "1.24" }),
      "1.41",
    );
  });

  test("uses the engine's minimum when higher", () => {
    assert.equal(
      chooseApiVersion({ Version: "29.0.0", ApiVersion: "1.52", MinAPIVersion: "1.44" }),
      "1.44",
    );
  });

  test("compares minor versions as numbers", () => {
    assert.equal(
      chooseApiVersion({ Version: "x", ApiVersion: "1.100", MinAPIVersion: "1.100" }),
      "1.100",
    );
  });

  test("rejects an engine older than 1.41", () => {
    assert.throws(
      () => chooseApiVersion({ Version: "19.03.15", ApiVersion: "1.40", MinAPIVersion: "1.12" }),
      /Docker 19\.03\.15 serves API 1\.40, older than the 1\.41/,
    );
  });
});

describe("DockerEngine", () => {
  test("negotiates on /version, then prefixes paths", async () => {
    const { engine, requests, close } = await serve(
      (request, response) => {
        if (request.url === "/version") {
          json(response, 200, { Version: "29.0.0", ApiVersion: "1.52", MinAPIVersion: "1.44" });
        } else {
          json(response, 200, []);
        }
      },
      { apiVersion: "" },
    );
    const version = await engine.negotiate();
    await engine.listContainers({ label: ["glitter.launch.role=child"] });
    await close();

    assert.equal(version.Version, "29.0.0");
    assert.equal(engine.apiVersion, "1.44");
    assert.equal(requests[0], "GET /version");
    const listed = new URL(requests[1]?.slice("GET ".length) ?? "", "http://docker");
    assert.equal(listed.pathname, "/v1.44/containers/json");
    assert.equal(listed.searchParams.get("all"), "1");
    assert.equal(listed.searchParams.get("filters"), '{"label":["glitter.launch.role=child"]}');
  });

  test("given API version skips negotiation", async () => {
    const { engine, requests, close } = await serve(
      (_request, response) => {
        json(response, 200, { Version: "20.10.24", ApiVersion: "1.41" });
      },
      { apiVersion: "1.43" },
    );
    await engine.negotiate();
    await close();

    assert.equal(engine.apiVersion, "1.43");
    assert.deepEqual(requests, ["GET /version"]);
  });

  test("create sends the name and JSON body", async () => {
    let received = "";
    let contentType = "";
    const { engine, requests, close } = await serve((request, response) => {
      contentType = request.headers["content-type"] ?? "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => (received += chunk));
      request.on("end", () => json(response, 201, { Id: "abc123", Warnings: [] }));
    });
    const id = await engine.createContainer("glitter-piglow", {
      Image: "glitter:1",
      HostConfig: { AutoRemove: true, GroupAdd: ["998"] },
    });
    await close();

    assert.equal(id, "abc123");
    assert.deepEqual(requests, ["POST /v1.41/containers/create?name=glitter-piglow"]);
    assert.equal(contentType, "application/json");
    assert.deepEqual(JSON.parse(received), {
      Image: "glitter:1",
      HostConfig: { AutoRemove: true, GroupAdd: ["998"] },
    });
  });

  test("error response becomes DockerEngineError", async () => {
    const { engine, close } = await serve((_request, response) => {
      json(response, 500, { message: "error gathering device information" });
    });
    await assert.rejects(engine.startContainer("abc"), (error: unknown) => {
      assert.ok(error instanceof DockerEngineError);
      assert.equal(error.statusCode, 500);
      assert.match(error.message, /POST \/v1\.41\/containers\/abc\/start failed with HTTP 500/);
      assert.match(error.message, /error gathering device information/);
      return true;
    });
    await close();
  });

  test("inspect of a missing container returns undefined", async () => {
    const { engine, close } = await serve((_request, response) => {
      json(response, 404, { message: "No such container: nope" });
    });
    assert.equal(await engine.inspectContainer("nope"), undefined);
    await close();
  });

  test("stop reports whether the container was running", async () => {
    const statuses = [204, 304, 404];
    const { engine, requests, close } = await serve((_request, response) => {
      json(response, statuses.shift() ?? 500, undefined);
    });
    assert.equal(await engine.stopContainer("abc", 7), true);
    assert.equal(await engine.stopContainer("abc", 7), false);
    assert.equal(await engine.stopContainer("abc", 7), false);
    await close();

    assert.equal(requests[0], "POST /v1.41/containers/abc/stop?t=7");
  });

  test("remove treats gone and in-progress removal as done", async () => {
    const replies: [number, string][] = [
      [204, ""],
      [404, "No such container: abc"],
      [409, "removal of container abc is already in progress"],
      [409, "You cannot remove a running container abc"],
    ];
    const { engine, requests, close } = await serve((_request, response) => {
      const [status, message] = replies.shift() ?? [500, "unexpected"];
      json(response, status, message === "" ? undefined : { message });
    });
    assert.equal(await engine.removeContainer("abc", true), true);
    assert.equal(await engine.removeContainer("abc", true), false);
    assert.equal(await engine.removeContainer("abc", true), false);
    await assert.rejects(engine.removeContainer("abc", false), /cannot remove a running container/);
    await close();

    assert.equal(requests[0], "DELETE /v1.41/containers/abc?force=1");
    assert.equal(requests[3], "DELETE /v1.41/containers/abc?force=0");
  });

  test("wait resolves on headers, result on exit", async () => {
    let pendingResponse: ServerResponse | undefined;
    const { engine, requests, close } = await serve((_request, response) => {
      response.writeHead(200, { "Content-Type": "application/json" });
      response.flushHeaders();
      pendingResponse = response;
    });
    const wait = await engine.waitContainer("abc", "removed");
    let settled = false;
    void wait.result.then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, "result settles only when the body arrives");

    pendingResponse?.end(JSON.stringify({ StatusCode: 3, Error: null }));
    const result = await wait.result;
    await close();

    assert.equal(result.StatusCode, 3);
    assert.deepEqual(requests, ["POST /v1.41/containers/abc/wait?condition=removed"]);
  });

  test("follows logs and splits stdout from stderr", async () => {
    const { engine, requests, close } = await serve((_request, response) => {
      response.writeHead(200, { "Content-Type": "application/vnd.docker.multiplexed-stream" });
      const both = Buffer.concat([frame(1, "out one\n"), frame(2, "err one\n")]);
      // Split a frame across writes, as TCP and unix sockets may.
      response.write(both.subarray(0, 11));
      setTimeout(() => {
        response.end(both.subarray(11));
      }, 10);
    });
    const seen: string[] = [];
    await engine.followLogs("abc", (stream, chunk) => seen.push(`${stream}:${chunk.toString()}`));
    await close();

    assert.deepEqual(seen, ["stdout:out one\n", "stderr:err one\n"]);
    assert.deepEqual(requests, ["GET /v1.41/containers/abc/logs?follow=1&stdout=1&stderr=1"]);
  });

  test("request times out when the engine stalls", async () => {
    const { engine, close } = await serve(() => undefined, { timeoutMs: 50 });
    await assert.rejects(engine.listContainers({}), /timed out after 50 ms/);
    await close();
  });

  test("missing socket rejects with ENOENT", async () => {
    const engine = new DockerEngine({ socketPath: join(scratch, "none.sock") });
    await assert.rejects(engine.negotiate(), { code: "ENOENT" });
  });
});

describe("LogDemultiplexer", () => {
  test("joins frames split byte by byte", () => {
    const seen: string[] = [];
    const demultiplexer = new LogDemultiplexer((stream, chunk) =>
      seen.push(`${stream}:${chunk.toString()}`),
    );
    const bytes = Buffer.concat([frame(2, "a"), frame(1, ""), frame(1, "bc")]);
    for (const byte of bytes) {
      demultiplexer.push(Buffer.from([byte]));
    }
    assert.deepEqual(seen, ["stderr:a", "stdout:", "stdout:bc"]);
  });
});
