/** The file format shared by `probe.js`, which writes it, and the bench, which reads it. */

export const PROBE_ENV = "GLITTER_BENCH_PROBE";
export const TRACE_ENV = "GLITTER_BENCH_TRACE";

/** Report that the probe writes. CPU times are in microseconds, memory in KiB. */
export interface ProbeReport {
  readonly userUs: number;
  readonly systemUs: number;
  /** Peak resident set size (VmHWM). */
  readonly vmHwmKiB: number;
  /** Resident set size at exit (VmRSS). */
  readonly vmRssKiB: number;
  /** Milliseconds from process start to the exit handler, by the child's own clock. */
  readonly uptimeMs: number;
  /** CommonJS files in the require cache at exit; only on traced runs. */
  readonly cjsModules?: readonly string[];
}

/** Checks the shape of a parsed probe file. */
export function isProbeReport(value: unknown): value is ProbeReport {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const fields = value as Record<string, unknown>;
  return ["userUs", "systemUs", "vmHwmKiB", "vmRssKiB", "uptimeMs"].every(
    (name) => typeof fields[name] === "number",
  );
}
