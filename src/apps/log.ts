import { createRequire } from "node:module";
import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Creates the application logger: JSON lines on stderr, so stdout stays free for data such as
 * `--view json`. When stderr is a terminal the lines are pretty-printed instead; pino-pretty is
 * loaded only then, which keeps it off the start-up path of a daemon whose stderr is a pipe.
 */
export function createLogger(
  options: { level?: string | undefined; pretty?: boolean | undefined } = {},
): Logger {
  const level = options.level ?? process.env["GLITTER_LOG_LEVEL"] ?? "info";
  const pretty = options.pretty ?? process.stderr.isTTY;
  if (pretty) {
    const require = createRequire(import.meta.url);
    const { default: createPretty } = require("pino-pretty") as {
      default: (options: Record<string, unknown>) => NodeJS.WritableStream;
    };
    return pino(
      { level, base: { name: "glitter" } },
      createPretty({ destination: 2, sync: true, ignore: "pid,hostname,name" }),
    );
  }
  return pino({ level, base: { name: "glitter" } }, pino.destination({ dest: 2, sync: true }));
}
