/**
 * The kernel tier: the same CPU and start-up figures against the real i2c-dev path. The host
 * side runs `test/kernel/vm-run.sh`, which boots Debian's kernel under QEMU with i2c-stub
 * answering at 0x54 as /dev/i2c-0, and runs `node dist/bench/run.js --guest` there. QEMU uses
 * software emulation (TCG), so these figures are comparable only with each other: the
 * emulated bus and /dev/i2c-0 measured in the same VM.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "./child.js";
import type { CpuWindowFigures, ModuleReport, StartupFigures } from "./process.js";

export const VM_RUN = join(PROJECT_ROOT, "test/kernel/vm-run.sh");
/** Prefix of the one stdout line that carries the guest's results. */
export const GUEST_MARKER = "GLITTER_BENCH_GUEST ";
/** vm-run.sh's exit status for "this host cannot run the VM". */
const SKIPPED = 77;
/** Seconds the guest script may run; vm-run.sh stops it after that. */
const GUEST_TIMEOUT_S = 900;

/** The figures of one board path inside the VM. */
export interface GuestTarget {
  readonly target: string;
  readonly boardArgs: readonly string[];
  readonly startup: StartupFigures;
  readonly cpu: readonly CpuWindowFigures[];
  readonly modules: ModuleReport;
}

export interface GuestResults {
  readonly kernel: string;
  readonly nproc: number;
  readonly targets: readonly GuestTarget[];
  /** runCpu on /dev/i2c-N as glitter opens it, and with the device kept open. */
  readonly busExperiment: readonly CpuWindowFigures[];
}

export type KernelOutcome =
  | { readonly status: "measured"; readonly results: GuestResults; readonly wallS: number }
  | { readonly status: "skipped" | "failed"; readonly reason: string };

/** Runs the guest half of the bench in the VM and returns its results, or why there are none. */
export async function runKernelTier(runs: number): Promise<KernelOutcome> {
  if (!existsSync(VM_RUN)) {
    return { status: "skipped", reason: `${VM_RUN} does not exist yet` };
  }
  const script = [
    "set -e",
    `exec ${JSON.stringify(process.execPath)} dist/bench/run.js --guest --runs ${runs}`,
    "",
  ].join("\n");
  const started = performance.now();
  const { exitCode, stdout, stderr } = await new Promise<{
    exitCode: number | null;
    stdout: string;
    stderr: string;
  }>((resolve, reject) => {
    const child = spawn("bash", [VM_RUN, "-"], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, GLITTER_VM_TIMEOUT: String(GUEST_TIMEOUT_S) },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ exitCode: code, stdout: out, stderr: err });
    });
    child.stdin.end(script);
  });
  const wallS = (performance.now() - started) / 1000;
  const vmLines = stderr
    .split("\n")
    .filter((line) => line.startsWith("vm-run:"))
    .join(" ");
  if (exitCode === SKIPPED) {
    return { status: "skipped", reason: vmLines || "vm-run.sh exited 77 (skipped)" };
  }
  const line = stdout.split("\n").find((text) => text.startsWith(GUEST_MARKER));
  if (exitCode !== 0 || line === undefined) {
    return {
      status: "failed",
      reason:
        `vm-run.sh exited ${exitCode ?? "by a signal"}. ${vmLines} ` +
        `Last stderr: ${stderr.slice(-1500)}`,
    };
  }
  return {
    status: "measured",
    results: JSON.parse(line.slice(GUEST_MARKER.length)) as GuestResults,
    wallS,
  };
}
