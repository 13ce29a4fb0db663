import type { CpuReading } from "../sources/proc-stat.js";
import { drawBoard, toAnsi } from "./render.js";

/** Content a view shows for one frame. */
export interface FrameReport {
  /** Frame number, from 1. */
  readonly frame: number;
  /** PWM of OUT1..OUT18 as latched in the chip. */
  readonly pwm: readonly number[];
  /** The reading the frame shows; undefined for the cleared frame at exit. */
  readonly reading: CpuReading | undefined;
  readonly style: string;
  /** Shown in place of the CPU load when `reading` is undefined; "cleared" by default. */
  readonly note?: string;
  /** Bus transactions and wire bytes since start. */
  readonly bus: { readonly transactions: number; readonly wireBytes: number };
}

export interface View {
  show(report: FrameReport): void;
  close(): void;
}

export const VIEW_NAMES = ["terminal", "json", "none"] as const;
export type ViewName = (typeof VIEW_NAMES)[number];

const round1 = (value: number): number => Math.round(value * 10) / 10;

/** Creates a view that writes one JSON object per frame and line on `out`, for scripts. */
export function jsonView(out: NodeJS.WritableStream): View {
  return {
    show(report) {
      const reading =
        report.reading === undefined
          ? null
          : { total: round1(report.reading.total), cores: report.reading.cores.map(round1) };
      out.write(
        JSON.stringify({
          frame: report.frame,
          pwm: report.pwm,
          reading,
          style: report.style,
          bus: report.bus,
        }) + "\n",
      );
    },
    close() {
      // Nothing to restore: every line is complete when written.
    },
  };
}

/** Creates a view that draws the board in colour on a terminal, in place, with a status line. */
export function terminalView(out: NodeJS.WriteStream, label: string): View {
  let drawnLines = 0;
  return {
    show(report) {
      const lines = toAnsi(drawBoard(report.pwm));
      const load =
        report.reading === undefined
          ? (report.note ?? "cleared")
          : `CPU ${report.reading.total.toFixed(1).padStart(5)} %`;
      const status =
        `  ${load}   ${report.style}   ${label}   frame ${report.frame}   ` +
        `bus ${report.bus.wireBytes} bytes`;
      // A line wider than the terminal wraps, and the rewind below would then fall short.
      lines.push(status.slice(0, Math.max(1, (out.columns || 80) - 1)));
      const rewind = drawnLines === 0 ? "\x1b[?25l" : `\x1b[${drawnLines}F`;
      out.write(rewind + lines.map((line) => `${line}\x1b[K`).join("\n") + "\n");
      drawnLines = lines.length;
    },
    close() {
      out.write("\x1b[?25h");
    },
  };
}

export function noView(): View {
  return {
    show() {
      // The LEDs are the view.
    },
    close() {
      // Nothing was drawn.
    },
  };
}
