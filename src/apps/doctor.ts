import { existsSync, readFileSync } from "node:fs";
import { I2cBusError, NACK_CODES } from "../bus/bus.js";
import { i2cDevicePath, I2cAddonError, openLinuxBus } from "../bus/linux.js";
import { SN3218_I2C_ADDRESS } from "../chip/registers.js";
import { explainBusError } from "./explain.js";
import { boardModel, inContainer, isRaspberryPi, listI2cBuses } from "./host.js";

/** The outcome of one check: `fail` stops glitter from using the board, `warn` may. */
export type CheckStatus = "ok" | "info" | "warn" | "fail";

export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** The fix, for `warn` and `fail`. */
  readonly fix?: string;
}

/** Root folder of the host files the doctor reads; tests point it at a fake root. */
export interface HostPaths {
  readonly root: string;
}

/** Revision codes of the revision-1 Model B, the only boards whose header I2C is bus 0. */
const REVISION_1_CODES = new Set([0x0002, 0x0003]);
/** Buses that the Pi 4 and 400 create for HDMI DDC; a PiGlow is never on them. */
const HDMI_BUSES = new Set([20, 21]);

/**
 * Reads the board revision code from the device tree (big-endian 32-bit), or from the
 * `Revision` line of /proc/cpuinfo, which 64-bit kernels may leave out.
 */
export function boardRevision(root = "/"): number | undefined {
  try {
    const bytes = readFileSync(`${root}proc/device-tree/system/linux,revision`);
    if (bytes.length >= 4) {
      return bytes.readUInt32BE(0);
    }
  } catch {
    // Fall back to /proc/cpuinfo below.
  }
  try {
    const match = /^Revision\s*:\s*([0-9a-fA-F]+)\s*$/m.exec(
      readFileSync(`${root}proc/cpuinfo`, "utf8"),
    );
    return match?.[1] === undefined ? undefined : Number.parseInt(match[1], 16);
  } catch {
    return undefined;
  }
}

/**
 * Picks the header's I2C bus: 0 on revision-1 boards, else 1. Old-style revision codes may
 * carry the warranty bit (bit 24), so only the low 24 bits count; new-style codes (bit 23 set)
 * are all bus 1.
 */
export function headerBus(revision: number | undefined): { bus: number; note: string } {
  if (revision === undefined) {
    return {
      bus: 1,
      note: "board revision unknown (64-bit kernels may not print it); assuming bus 1",
    };
  }
  const code = revision & 0xffffff;
  const hexCode = revision.toString(16).padStart(4, "0");
  if ((code & 0x800000) === 0 && REVISION_1_CODES.has(code)) {
    return { bus: 0, note: `revision ${hexCode} is a revision-1 Model B: bus 0` };
  }
  return { bus: 1, note: `revision ${hexCode}: bus 1` };
}

function adapterName(root: string, bus: number): string | undefined {
  try {
    return readFileSync(`${root}sys/class/i2c-dev/i2c-${bus}/name`, "utf8").trim();
  } catch {
    return undefined;
  }
}

function loadedModules(root: string): Set<string> {
  try {
    return new Set(
      readFileSync(`${root}proc/modules`, "utf8")
        .split("\n")
        .map((line) => line.split(" ")[0] ?? "")
        .filter((name) => name !== ""),
    );
  } catch {
    return new Set();
  }
}

function checkPlatform(root: string): CheckResult[] {
  const model = boardModel(root);
  const results: CheckResult[] = [
    isRaspberryPi(root)
      ? { name: "board", status: "ok", detail: model ?? "Raspberry Pi" }
      : {
          name: "board",
          status: "info",
          detail: `not a Raspberry Pi (${model ?? "no device-tree model"}); glitter cpu runs on the emulated board here`,
        },
  ];
  const container = inContainer(root);
  results.push({
    name: "container",
    status: "info",
    detail: container ? "running in a container" : "not in a container",
  });
  if (process.pid === 1) {
    results.push({
      name: "init",
      status: "warn",
      detail:
        "glitter is PID 1 with no init: it clears the LEDs on SIGTERM itself, but no one reaps zombie processes",
      fix: "run the container with an init: docker run --init, or the image's tini entrypoint",
    });
  }
  return results;
}

function checkModules(root: string): CheckResult {
  const container = inContainer(root);
  const modules = loadedModules(root);
  const chardev = existsSync(`${root}sys/class/i2c-dev`) || modules.has("i2c_dev");
  const adapters = ["i2c_bcm2835", "i2c_bcm2708", "i2c_designware_platform", "i2c_stub"].filter(
    (name) => modules.has(name),
  );
  if (!chardev) {
    return {
      name: "kernel modules",
      status: "fail",
      detail: "i2c-dev is not loaded, so no /dev/i2c-N can exist",
      fix: container
        ? "modules come from the host: load i2c-dev there (sudo modprobe i2c-dev), then pass the device in with --device"
        : "sudo modprobe i2c-dev, and add i2c-dev to /etc/modules to load it at boot (turning I2C on in raspi-config does both)",
    };
  }
  return {
    name: "kernel modules",
    status: "ok",
    detail: `i2c_dev${adapters.length > 0 ? `, ${adapters.join(", ")}` : ""}`,
  };
}

function checkBuses(root: string, chosen: number): CheckResult {
  const buses = listI2cBuses(`${root}dev`);
  if (buses.length === 0) {
    return { name: "buses", status: "info", detail: "no /dev/i2c-* at all" };
  }
  const described = buses.map((bus) => {
    const name = adapterName(root, bus);
    const hdmi = HDMI_BUSES.has(bus) ? ", HDMI, never used" : "";
    const label = name === undefined ? "" : ` (${name}${hdmi})`;
    return `/dev/i2c-${bus}${label}${bus === chosen ? " <- chosen" : ""}`;
  });
  return { name: "buses", status: "info", detail: described.join("; ") };
}

function failure(name: string, summary: string, error: unknown, busNumber: number): CheckResult {
  const explained = explainBusError(error, busNumber);
  const code = error instanceof I2cBusError ? error.code : "";
  return {
    name,
    status: "fail",
    detail: code === "" ? summary : `${summary}: ${code}`,
    fix: explained instanceof Error ? explained.message : String(explained),
  };
}

/** Opens the bus and probes 0x54 with an SMBus quick write, which changes no register. */
async function checkDevice(busNumber: number): Promise<CheckResult[]> {
  const path = i2cDevicePath(busNumber);
  let bus;
  try {
    bus = await openLinuxBus(busNumber);
  } catch (error) {
    if (error instanceof I2cAddonError) {
      return [failure("i2c-bus addon", "loading the addon failed", error, busNumber)];
    }
    return [failure(path, "open failed", error, busNumber)];
  }
  const results: CheckResult[] = [{ name: path, status: "ok", detail: "opened for writing" }];
  try {
    await bus.writeQuick(SN3218_I2C_ADDRESS);
    results.push({
      name: "PiGlow",
      status: "ok",
      detail: `an I2C device acknowledged 0x54 on ${path} (probed with a quick write, no register changed)`,
    });
  } catch (error) {
    const nack = error instanceof I2cBusError && NACK_CODES.has(error.code);
    results.push(
      failure("PiGlow", nack ? "nothing answered at 0x54" : "quick write failed", error, busNumber),
    );
  } finally {
    await bus.close();
  }
  return results;
}

/**
 * Checks the host and container set-up for a PiGlow, one result per check. `bus` is the bus the
 * user asked for; without it the header bus of this board's revision is used.
 */
export async function runDoctor(
  options: { bus?: number | undefined; root?: string } = {},
): Promise<CheckResult[]> {
  const root = options.root ?? "/";
  const results = checkPlatform(root);
  let busNumber = options.bus;
  if (busNumber === undefined) {
    const choice = isRaspberryPi(root)
      ? headerBus(boardRevision(root))
      : { bus: 1, note: "not a Raspberry Pi: bus 1, the default" };
    busNumber = choice.bus;
    results.push({ name: "bus choice", status: "info", detail: choice.note });
  } else if (HDMI_BUSES.has(busNumber)) {
    results.push({
      name: "bus choice",
      status: "fail",
      detail: `--bus ${busNumber} is an HDMI DDC bus on the Pi 4 and 400, never the PiGlow's`,
      fix: "the PiGlow sits on the GPIO header's bus: pass --bus 1",
    });
  } else {
    results.push({ name: "bus choice", status: "info", detail: `--bus ${busNumber}` });
  }
  results.push(checkModules(root));
  results.push(checkBuses(root, busNumber));
  if (!HDMI_BUSES.has(busNumber)) {
    results.push(...(await checkDevice(busNumber)));
  }
  if (!isRaspberryPi(root) && results.some((result) => result.status === "fail")) {
    results.push({
      name: "emulator",
      status: "info",
      detail: "without a usable PiGlow, glitter cpu runs on the emulated board (or pass --emulate)",
    });
  }
  return results;
}

/** Formats results as one line per check, with the fix on the next line when there is one. */
export function formatDoctor(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((result) => result.name.length));
  return results
    .map((result) => {
      const line = `${result.status.toUpperCase().padEnd(4)}  ${result.name.padEnd(width)}  ${result.detail}`;
      return result.fix === undefined
        ? line
        : `${line}\n      ${" ".repeat(width)}  fix: ${result.fix}`;
    })
    .join("\n");
}
