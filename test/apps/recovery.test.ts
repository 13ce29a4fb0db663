import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pino } from "pino";
import { createEmulatedPiGlow, type EmulatedBus } from "../../src/bus/emulated.js";
import type { EmulatedSn3218 } from "../../src/bus/emulated-sn3218.js";
import { emulatedBoard } from "../../src/apps/board.js";
import { runCpu } from "../../src/apps/cpu.js";
import { FrameSender } from "../../src/apps/session.js";
import { noView } from "../../src/apps/views.js";
import { parseProcStat } from "../../src/sources/proc-stat.js";
import { ADDRESS, NORMAL, PWM_OUT, RESET, SHUTDOWN } from "../datasheet.js";
import { memoryLogger } from "../helpers/memory-logger.js";

interface LogLine {
  level: number;
  msg: string;
  code?: string;
  bus?: string;
  failedAttempts?: number;
}

/**
 * Runs `glitter cpu` on an emulated PiGlow. `load(n)` gives the CPU percent of sample n and
 * `onSample(n, bus, chip)` may inject faults before that sample is drawn.
 */
async function runWithFaults(options: {
  frames: number;
  refreshSeconds?: number;
  load: (sample: number) => number;
  onSample?: (sample: number, bus: EmulatedBus, chip: EmulatedSn3218) => void;
}) {
  const piglow = createEmulatedPiGlow();
  const { log, lines } = memoryLogger<LogLine>();
  let sample = 0;
  let busy = 0;
  let idle = 0;
  const readCpu = () => {
    options.onSample?.(sample, piglow.bus, piglow.chip);
    const percent = options.load(sample);
    busy += percent;
    idle += 100 - percent;
    sample += 1;
    return Promise.resolve(parseProcStat(`cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\n`));
  };
  await runCpu(
    {
      board: { emulate: true },
      intervalMs: 5,
      style: "bar",
      visual: { brightness: 255, gamma: 1 },
      frames: options.frames,
      keepOnExit: true,
      refreshSeconds: options.refreshSeconds ?? 0,
    },
    {
      log,
      signal: new AbortController().signal,
      createView: () => noView(),
      readCpu,
      openBoard: () => Promise.resolve(emulatedBoard(undefined, piglow)),
    },
  );
  return { ...piglow, lines };
}

const RAMP = Array.from({ length: 18 }, (_, channel) => channel);

describe("recovery from bus faults", () => {
  test("transient errors are retried and logged once", async () => {
    const { bus, chip, lines } = await runWithFaults({
      frames: 6,
      load: (sample) => (sample % 2 === 0 ? 30 : 70),
      onSample: (sample, faultyBus) => {
        if (sample === 3) {
          faultyBus.failNext(3, "EIO");
        }
      },
    });
    const warnings = lines.filter((line) => line.msg.startsWith("bus write failed"));
    assert.equal(warnings.length, 1);
    const [warning] = warnings;
    assert.ok(warning !== undefined);
    assert.equal(warning.code, "EIO");
    assert.equal(warning.bus, "emulated");
    const recoveries = lines.filter((line) => line.msg.startsWith("bus recovered"));
    assert.equal(recoveries.length, 1);
    assert.equal(recoveries[0]?.failedAttempts, 3);

    const failed = bus.transactions.findLastIndex((t) => t.error === "EIO");
    const next = bus.transactions.slice(failed + 1, failed + 3);
    const [rewrite] = next;
    assert.ok(rewrite !== undefined);
    assert.equal(rewrite.register, PWM_OUT(1), "re-initialisation starts with every register");
    assert.equal(rewrite.data.length, 22, "PWM, LED control and the update register");
    assert.deepEqual(next[1], { address: ADDRESS, register: SHUTDOWN, data: [NORMAL] });
    assert.ok(chip.state().visible.some((value) => value > 0));
  });

  test("backoff doubles up to five seconds", async () => {
    const failing = createEmulatedPiGlow();
    failing.bus.failNext(10, "EREMOTEIO");
    const sender = new FrameSender(emulatedBoard(undefined, failing), pino({ enabled: false }));
    assert.equal(sender.delay(100), 100, "no failure yet: the frame interval");
    const delays: number[] = [];
    for (let attempt = 0; attempt < 8; attempt += 1) {
      assert.equal(await sender.send(RAMP), false);
      delays.push(sender.delay(100));
    }
    assert.deepEqual(delays, [200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });

  test("refresh rewrites a still picture", async () => {
    const piglow = createEmulatedPiGlow();
    const board = emulatedBoard(undefined, piglow);
    const sender = new FrameSender(board, pino({ enabled: false }), 20);
    assert.equal(await sender.send(RAMP), true);
    const before = board.traffic.wireBytes;
    assert.equal(await sender.send(RAMP), true);
    assert.equal(board.traffic.wireBytes, before, "no refresh due yet: nothing sent");
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(await sender.send(RAMP), true);
    assert.equal(board.traffic.wireBytes - before, 27, "every register and the latch again");
  });

  test("unplugged while changing, back lit after replug", async () => {
    const { chip, lines } = await runWithFaults({
      frames: 8,
      load: (sample) => 10 + sample * 10,
      onSample: (sample, faultyBus, faultyChip) => {
        if (sample === 3) {
          faultyBus.unplug(ADDRESS);
        }
        if (sample === 6) {
          faultyChip.write(RESET, Uint8Array.of(0));
          faultyBus.replug(ADDRESS);
        }
      },
    });
    assert.equal(lines.filter((line) => line.msg.startsWith("bus write failed")).length, 1);
    assert.equal(lines.filter((line) => line.msg.startsWith("bus recovered")).length, 1);
    assert.equal(chip.state().shutdown, false);
    assert.ok(chip.state().visible.filter((value) => value > 0).length >= 10);
  });

  test("a chip reset under a still picture is repaired by refresh", async () => {
    const { chip } = await runWithFaults({
      frames: 12,
      refreshSeconds: 0.02,
      load: () => 50,
      onSample: (sample, _bus, faultyChip) => {
        if (sample === 3) {
          faultyChip.write(RESET, Uint8Array.of(0));
        }
      },
    });
    assert.equal(chip.state().shutdown, false);
    assert.equal(chip.state().visible.filter((value) => value === 255).length, 9);
  });

  test("without refresh a reset chip stays dark", async () => {
    const { chip } = await runWithFaults({
      frames: 8,
      refreshSeconds: 0,
      load: () => 50,
      onSample: (sample, _bus, faultyChip) => {
        if (sample === 3) {
          faultyChip.write(RESET, Uint8Array.of(0));
        }
      },
    });
    assert.equal(chip.state().shutdown, true, "the write-only chip cannot tell the driver");
  });
});
