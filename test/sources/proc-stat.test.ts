import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  CpuSampler,
  cpuReading,
  parseProcStat,
  utilisation,
  type CpuStat,
} from "../../src/sources/proc-stat.js";

/** Fixtures live in the source tree: dist/test/sources/ -> test/fixtures/. */
function fixture(name: string): CpuStat {
  const url = new URL(`../../../test/fixtures/proc-stat/${name}.txt`, import.meta.url);
  return parseProcStat(readFileSync(url, "utf8"));
}

function close(actual: number, expected: number, message?: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${message ?? ""} ${actual} != ${expected}`);
}

describe("parseProcStat", () => {
  test("reads the aggregate and per-core lines", () => {
    const stat = fixture("pi4-before");
    assert.equal(stat.total.user, 10000);
    assert.equal(stat.total.softirq, 100);
    assert.deepEqual([...stat.cores.keys()], [0, 1, 2, 3]);
    assert.equal(stat.cores.get(3)?.idle, 20000);
  });

  test("older kernels without steal and guest read as 0", () => {
    const stat = fixture("old-kernel");
    assert.equal(stat.total.iowait, 0);
    assert.equal(stat.total.steal, 0);
    assert.equal(stat.total.guestNice, 0);
  });

  test("rejects text without a cpu line", () => {
    assert.throws(() => parseProcStat("intr 1 2 3\n"), /no aggregate cpu line/);
    assert.throws(() => parseProcStat("cpu  1 2 x 4\n"), /has no valid CPU counters/);
  });
});

describe("cpuReading", () => {
  test("total and each core of a Pi 4", () => {
    const reading = cpuReading(fixture("pi4-before"), fixture("pi4-after"));
    close(reading.total, 50, "total");
    assert.deepEqual(reading.cores, [100, 50, 25, 25]);
  });

  test("guest time is not counted twice", () => {
    const reading = cpuReading(fixture("guest-before"), fixture("guest-after"));
    close(reading.total, (100 * 80) / 90, "busy 80 of 90 ticks");
  });

  test("counters going backwards are clamped", () => {
    const reading = cpuReading(fixture("backwards-before"), fixture("backwards-after"));
    assert.equal(reading.total, 0);
    assert.deepEqual(reading.cores, [0]);
  });

  test("idle going backwards cannot exceed 100 %", () => {
    const before = parseProcStat("cpu  100 0 0 1000 50 0 0 0 0 0\n");
    const after = parseProcStat("cpu  150 0 0 990 50 0 0 0 0 0\n");
    assert.equal(utilisation(before.total, after.total), 100);
  });

  test("no ticks at all reads 0 %", () => {
    const stat = fixture("pi4-before");
    assert.equal(cpuReading(stat, stat).total, 0);
  });

  test("many cores, one going offline", () => {
    const reading = cpuReading(fixture("many-before"), fixture("many-after"));
    assert.equal(reading.cores.length, 63);
    for (const [position, value] of reading.cores.entries()) {
      const core = position < 7 ? position : position + 1;
      close(value, core, `cpu${core}`);
    }
    const busyTicks = (63 * 64) / 2 - 7;
    close(reading.total, (100 * busyTicks) / (63 * 100), "cores 0-63 but 7, n busy ticks of 100");
  });
});

describe("CpuSampler", () => {
  test("first reading spans a real interval", async () => {
    const samples = [fixture("pi4-before"), fixture("pi4-after")];
    const sampler = new CpuSampler(() => {
      const next = samples.shift();
      return next === undefined ? Promise.reject(new Error("no sample")) : Promise.resolve(next);
    });
    assert.equal(await sampler.next(), undefined);
    const reading = await sampler.next();
    close(reading?.total ?? -1, 50);
  });

  test("reads the real /proc/stat", async () => {
    const sampler = new CpuSampler();
    await sampler.next();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const reading = await sampler.next();
    assert.ok(reading !== undefined);
    assert.ok(reading.total >= 0);
    assert.ok(reading.total <= 100);
    assert.ok(reading.cores.length >= 1);
  });
});
