import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { LEG_CHANNELS } from "../datasheet.js";

const CLI = fileURLToPath(new URL("../../src/cli.js", import.meta.url));

interface JsonFrame {
  frame: number;
  pwm: number[];
  reading: { total: number; cores: number[] } | null;
  bus: { transactions: number; wireBytes: number };
}

function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    timeout: 20_000,
    env: { ...process.env, ...env },
  });
  const frames = result.stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as JsonFrame);
  return { ...result, frames };
}

describe("glitter cpu end to end", () => {
  test("draws frames, then clears and exits 0 on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      [CLI, "cpu", "--emulate", "--view", "json", "--interval", "0.1", "--style", "classic"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const lines: JsonFrame[] = [];
    let signalledAt = 0;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const complete = stdout.split("\n");
      stdout = complete.pop() ?? "";
      for (const line of complete) {
        lines.push(JSON.parse(line) as JsonFrame);
      }
      if (lines.length >= 3 && signalledAt === 0) {
        signalledAt = Date.now();
        child.kill("SIGTERM");
      }
    });
    const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
    const stopMs = Date.now() - signalledAt;

    assert.equal(signal, null, stderr);
    assert.equal(code, 0, stderr);
    assert.ok(stopMs < 1000, `exited ${stopMs} ms after SIGTERM`);
    assert.ok(lines.length >= 4, `${lines.length} frames`);
    const shown = lines.slice(0, -1);
    for (const frame of shown) {
      assert.equal(frame.pwm.length, 18);
      assert.ok(frame.reading !== null);
      assert.ok(frame.reading.total >= 0);
      assert.ok(frame.reading.total <= 100);
      const lit = frame.pwm.filter((value) => value > 0);
      assert.ok(lit.length >= 3, "classic lights at least the red ring");
      assert.ok(lit.every((value) => value === 20));
    }
    const last = lines.at(-1);
    assert.ok(last !== undefined);
    assert.deepEqual(last.pwm, new Array<number>(18).fill(0));
    assert.equal(last.reading, null);
    assert.match(stderr, /"msg":"stopped"/);
  });

  test("clears and exits 0 when stdout closes", async () => {
    const child = spawn(
      process.execPath,
      [CLI, "cpu", "--emulate", "--view", "json", "--interval", "0.05"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    let received = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      received += chunk;
      if (received.split("\n").length > 2) {
        child.stdout.destroy();
      }
    });
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0, stderr);
    assert.match(stderr, /stdout closed; stopping/);
    assert.match(stderr, /"cleared":true,"msg":"stopped"/);
  });

  test("stops by itself after --frames", () => {
    const result = run([
      "cpu",
      "--emulate",
      "--view",
      "json",
      "--interval",
      "0.05",
      "--frames",
      "3",
    ]);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(
      result.frames.map((frame) => frame.frame),
      [1, 2, 3, 4],
    );
    assert.deepEqual(result.frames.at(-1)?.pwm, new Array<number>(18).fill(0));
  });

  test("--keep-on-exit leaves the last frame lit", () => {
    const result = run([
      "cpu",
      "--emulate",
      "--view",
      "json",
      "--interval",
      "0.05",
      "--frames",
      "2",
      "--style",
      "classic",
      "--keep-on-exit",
    ]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.frames.length, 2);
    assert.ok(result.frames.at(-1)?.pwm.some((value) => value > 0));
  });

  test("says so when it falls back to the emulated board", { skip: hasBus1() }, () => {
    const result = run(["cpu", "--view", "json", "--interval", "0.05", "--frames", "1"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /runs on the emulated board; pass --bus 1 to require the PiGlow/);
  });
});

function hasBus1(): boolean {
  return spawnSync("test", ["-e", "/dev/i2c-1"]).status === 0;
}

describe("glitter set and off", () => {
  test("set lights targets at raw PWM", () => {
    const result = run(["set", "red", "40", "top-white", "255", "--emulate", "--view", "json"]);
    assert.equal(result.status, 0, result.stderr);
    const pwm = result.frames[0]?.pwm ?? [];
    const expected = new Array<number>(18).fill(0);
    for (const leg of LEG_CHANNELS) {
      expected[leg[0] ?? 0] = 40;
    }
    expected[9] = 255;
    assert.deepEqual(pwm, expected);
  });

  test("off without targets darkens everything", () => {
    const result = run(["off", "--emulate", "--view", "json"]);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(result.frames[0]?.pwm, new Array<number>(18).fill(0));
  });
});

describe("board from the environment", () => {
  test("GLITTER_EMULATE=1 wins over GLITTER_BUS", () => {
    const result = run(["set", "red", "9", "--view", "json"], {
      GLITTER_EMULATE: "1",
      GLITTER_BUS: "1",
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.frames[0]?.pwm[6], 9);
  });

  test("GLITTER_BUS requires that bus", () => {
    const result = run(["set", "red", "9"], { GLITTER_BUS: "9" });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /\/dev\/i2c-9 does not exist/);
  });

  test("--emulate wins over GLITTER_BUS", () => {
    const result = run(["off", "--emulate"], { GLITTER_BUS: "9" });
    assert.equal(result.status, 0, result.stderr);
  });

  test("invalid values are named", () => {
    assert.match(
      run(["off"], { GLITTER_EMULATE: "yes" }).stderr,
      /GLITTER_EMULATE must be 1 or 0, got "yes"/,
    );
    assert.match(
      run(["off"], { GLITTER_BUS: "one" }).stderr,
      /GLITTER_BUS must be an integer from 0 to 255, got "one"/,
    );
  });
});

describe("command line errors", () => {
  const cases: [string[], RegExp][] = [
    [["cpu", "--interval", "0"], /--interval must be a number from 0.05 to 60, got "0"/],
    [["cpu", "--style", "sparkle"], /style "sparkle" is unknown. Use one of: bar, arms, classic/],
    [["cpu", "--brightness", "300"], /--brightness must be an integer from 1 to 255, got "300"/],
    [["cpu", "--bus", "1", "--emulate"], /--bus and --emulate exclude each other/],
    [["cpu", "--view", "html"], /--view must be one of terminal, json, none, got "html"/],
    [["set", "red"], /needs pairs of <target> <pwm>/],
    [["set", "purple", "3"], /target "purple" is not an LED, leg or ring/],
    [["set", "red", "256"], /pwm for red must be an integer from 0 to 255, got "256"/],
    [["dance"], /Unknown command "dance"/],
    [["cpu", "--nope"], /unknown option '--nope'. See glitter --help.\n$/],
    [["cpu", "--log-level", "loud"], /--log-level must be one of fatal, error, warn, info/],
    [["set", "red", "-1"], /"-1" is not a valid target or PWM value/],
    [["cpu", "--frames", "-1"], /--frames must be an integer from 1 to 1000000000, got "-1"/],
    [["cpu", "--interval", "-0.5"], /--interval must be a number from 0.05 to 60, got "-0.5"/],
    [["set", "red", "10", "--style", "bar"], /--style applies to glitter cpu only/],
    [["off", "--frames", "3"], /--frames applies to glitter cpu only/],
    [[], /missing command: cpu, set, off, doctor or launch/],
  ];
  for (const [args, message] of cases) {
    test(`glitter ${args.join(" ")}`, () => {
      const result = run(args);
      assert.equal(result.status, 2);
      assert.match(result.stderr, message);
    });
  }

  test("--bus on a missing device exits 1 with the fix", () => {
    const result = run(["cpu", "--bus", "9"]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /\/dev\/i2c-9 does not exist|i2c-bus package could not be loaded/);
    assert.match(result.stderr, /dtparam=i2c_arm=on|npm install i2c-bus/);
  });
});
