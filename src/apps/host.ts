import { readdirSync, readFileSync, statSync } from "node:fs";

/**
 * Facts about the host that the error messages and the bus choice need. Each read is guarded:
 * a missing file means "not known", never a crash.
 */

/** Existing `/dev/i2c-N` buses, by number. */
export function listI2cBuses(devDirectory = "/dev"): number[] {
  try {
    return readdirSync(devDirectory)
      .map((name) => /^i2c-(\d+)$/.exec(name)?.[1])
      .filter((number): number is string => number !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/** Returns the board model from the device tree, such as "Raspberry Pi 4 Model B Rev 1.4". */
export function boardModel(root = "/"): string | undefined {
  try {
    return readFileSync(`${root}proc/device-tree/model`, "utf8").replace(/\0+$/, "").trim();
  } catch {
    return undefined;
  }
}

export function isRaspberryPi(root = "/"): boolean {
  return boardModel(root)?.startsWith("Raspberry Pi") ?? false;
}

/** Owner group id and permission bits of a device node, for permission advice. */
export function deviceAccess(path: string): { gid: number; mode: number } | undefined {
  try {
    const stats = statSync(path);
    return { gid: stats.gid, mode: stats.mode & 0o777 };
  } catch {
    return undefined;
  }
}

/** Name of group `gid` from /etc/group, when it has one here. */
export function groupName(gid: number, groupFile = "/etc/group"): string | undefined {
  try {
    for (const line of readFileSync(groupFile, "utf8").split("\n")) {
      const [name, , id] = line.split(":");
      if (name !== undefined && id !== undefined && Number(id) === gid) {
        return name;
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** True inside a Docker, Podman or Kubernetes container, as far as the usual markers tell. */
export function inContainer(root = "/"): boolean {
  for (const marker of [".dockerenv", "run/.containerenv"]) {
    try {
      statSync(`${root}${marker}`);
      return true;
    } catch {
      // Not this runtime's marker; try the next.
    }
  }
  return process.env["KUBERNETES_SERVICE_HOST"] !== undefined;
}
