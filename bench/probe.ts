/**
 * Preloaded into a measured child with `node --import dist/bench/probe.js`. At exit it writes
 * the process's own accounting to the file named by GLITTER_BENCH_PROBE: user and system CPU
 * time of all its threads (getrusage), peak and current resident memory from
 * /proc/self/status. It adds one small module to the child's start-up and does nothing while
 * the child runs.
 *
 * With GLITTER_BENCH_TRACE set as well, it also registers `trace-hooks.js`, which appends the
 * URL of every ES module the child loads to that file, and lists the CommonJS files in the
 * require cache at exit. The loader hooks run on a thread of their own, so a traced run is
 * never one whose time is measured.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import { PROBE_ENV, TRACE_ENV, type ProbeReport } from "./probe-report.js";

/** Reads a `kB` field of /proc/self/status; -1 where the kernel does not report it. */
function statusKiB(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
  return match?.[1] === undefined ? -1 : Number(match[1]);
}

const reportPath = process.env[PROBE_ENV];
const tracePath = process.env[TRACE_ENV];

if (tracePath !== undefined) {
  register("./trace-hooks.js", import.meta.url, { data: tracePath });
}

if (reportPath !== undefined) {
  process.on("exit", () => {
    const usage = process.resourceUsage();
    let status = "";
    try {
      status = readFileSync("/proc/self/status", "utf8");
    } catch {
      // Not Linux: the memory fields read -1.
    }
    const report: ProbeReport = {
      userUs: usage.userCPUTime,
      systemUs: usage.systemCPUTime,
      vmHwmKiB: statusKiB(status, "VmHWM"),
      vmRssKiB: statusKiB(status, "VmRSS"),
      uptimeMs: process.uptime() * 1000,
      ...(tracePath === undefined
        ? {}
        : { cjsModules: Object.keys(createRequire(import.meta.url).cache) }),
    };
    writeFileSync(reportPath, JSON.stringify(report));
  });
}
