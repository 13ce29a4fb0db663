import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { boardRevision, formatDoctor, headerBus, runDoctor } from "../../src/apps/doctor.js";

const roots: string[] = [];
after(() => {
  for (const root of roots) {
    rmSync(root, { recursive: true, force: true });
  }
});

/** Builds a fake filesystem root with the given files; paths are relative to the root. */
function fakeRoot(files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(join(tmpdir(), "glitter-doctor-"));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(join(full, ".."), { recursive: true });
    writeFileSync(full, content);
  }
  return `${root}/`;
}

describe("header bus choice", () => {
  const cases: [number | undefined, number][] = [
    [0x0002, 0],
    [0x0003, 0],
    [0x1000002, 0],
    [0x0004, 1],
    [0x000e, 1],
    [0xa02082, 1],
    [0xc03111, 1],
    [undefined, 1],
  ];
  for (const [revision, bus] of cases) {
    test(`revision ${revision?.toString(16) ?? "unknown"} uses bus ${bus}`, () => {
      assert.equal(headerBus(revision).bus, bus);
    });
  }

  test("unknown revision says so", () => {
    assert.match(headerBus(undefined).note, /revision unknown.*assuming bus 1/);
  });
});

describe("board revision", () => {
  test("device tree wins over cpuinfo", () => {
    const root = fakeRoot({
      "proc/device-tree/system/linux,revision": Buffer.from([0x00, 0xa0, 0x20, 0x82]),
      "proc/cpuinfo": "Revision\t: 0002\n",
    });
    assert.equal(boardRevision(root), 0xa02082);
  });

  test("cpuinfo Revision line", () => {
    const root = fakeRoot({
      "proc/cpuinfo": "Hardware\t: BCM2835\nRevision\t: 0003\nSerial\t: 0\n",
    });
    assert.equal(boardRevision(root), 0x0003);
  });

  test("neither gives undefined", () => {
    assert.equal(boardRevision(fakeRoot({ "proc/cpuinfo": "model name\t: x86\n" })), undefined);
  });
});

describe("runDoctor", () => {
  test("a revision-1 Pi without i2c-dev", async () => {
    const root = fakeRoot({
      "proc/device-tree/model": "Raspberry Pi Model B Rev 1\0",
      "proc/cpuinfo": "Revision\t: 0002\n",
      "proc/modules": "snd_bcm2835 24576 0 - Live 0x0\n",
      "dev/null": "",
    });
    const results = await runDoctor({ root });
    const byName = (name: string) => results.find((result) => result.name === name);
    assert.equal(byName("board")?.status, "ok");
    assert.match(byName("bus choice")?.detail ?? "", /revision-1 Model B: bus 0/);
    assert.equal(byName("kernel modules")?.status, "fail");
    assert.match(byName("kernel modules")?.fix ?? "", /modprobe i2c-dev/);
    assert.equal(byName("emulator"), undefined, "a Raspberry Pi gets no emulator hint");
    const text = formatDoctor(results);
    assert.match(text, /^OK {4}board/m);
    assert.match(text, /fix: sudo modprobe i2c-dev/);
  });

  test("lists buses and flags HDMI ones", async () => {
    const root = fakeRoot({
      "proc/modules": "i2c_dev 16384 0 - Live 0x0\ni2c_bcm2835 16384 0 - Live 0x0\n",
      "dev/i2c-1": "",
      "dev/i2c-20": "",
      "sys/class/i2c-dev/i2c-1/name": "bcm2835 (i2c@7e804000)\n",
      "sys/class/i2c-dev/i2c-20/name": "fef04500.i2c\n",
    });
    const results = await runDoctor({ root, bus: 20 });
    const buses = results.find((result) => result.name === "buses");
    assert.match(buses?.detail ?? "", /\/dev\/i2c-1 \(bcm2835 \(i2c@7e804000\)\)/);
    assert.match(buses?.detail ?? "", /\/dev\/i2c-20 \(fef04500.i2c, HDMI, never used\) <- chosen/);
    const choice = results.find((result) => result.name === "bus choice");
    assert.ok(choice !== undefined);
    assert.equal(choice.status, "fail");
    assert.match(choice.detail, /HDMI DDC bus/);
    assert.match(choice.fix ?? "", /pass --bus 1/);
    assert.equal(
      results.find((result) => result.name === "/dev/i2c-20"),
      undefined,
      "an HDMI bus is never opened",
    );
    assert.match(results.at(-1)?.detail ?? "", /runs on the emulated board/);
    assert.equal(results.find((result) => result.name === "kernel modules")?.status, "ok");
  });
});
