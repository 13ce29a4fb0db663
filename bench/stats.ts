/** Summary statistics and the plain-text table that `npm run bench` prints. */

/** Median, minimum and maximum of repeated measurements, with the values themselves. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
  readonly values: readonly number[];
}

/** Summarises `values`; the median of an even count is the mean of the two middle values. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) {
    throw new RangeError("summarize needs at least one value.");
  }
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? 0;
  const median = sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? 0) + upper) / 2;
  return {
    median,
    min: sorted[0] ?? 0,
    max: sorted[sorted.length - 1] ?? 0,
    runs: values.length,
    values: [...values],
  };
}

/** Applies `transform` to every value of a summary, for unit changes and derived figures. */
export function mapSummary(summary: Summary, transform: (value: number) => number): Summary {
  return summarize(summary.values.map(transform));
}

/** Formats a number with `digits` decimals, or with none from 1000 up. */
export function formatNumber(value: number, digits: number): string {
  if (!Number.isFinite(value)) {
    return String(value);
  }
  return Math.abs(value) >= 1000 ? Math.round(value).toString() : value.toFixed(digits);
}

/** `median (min-max)`, or the median alone when every run gave the same value. */
export function formatSummary(summary: Summary, digits: number): string {
  const median = formatNumber(summary.median, digits);
  const min = formatNumber(summary.min, digits);
  const max = formatNumber(summary.max, digits);
  return min === max ? median : `${median} (${min}-${max})`;
}

/** One row of a printed table: a label, then its value cells. */
export type Row = readonly [string, ...string[]];

/** Lays `rows` out in columns under `header`, left-aligned, two spaces apart. */
export function formatTable(header: Row, rows: readonly Row[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) =>
    Math.max(...all.map((row) => (row[column] ?? "").length)),
  );
  const format = (row: Row): string =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [format(header), rule, ...rows.map(format)].join("\n");
}
