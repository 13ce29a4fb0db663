import { Writable } from "node:stream";
import { pino, type Logger } from "pino";

/**
 * Creates a pino logger at debug level that parses each JSON line it writes into `lines`, so
 * tests can assert on messages and fields. `Line` is the shape the test reads.
 */
// The type parameter only names what the caller reads; the JSON itself is not checked.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export function memoryLogger<Line>(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Line);
      done();
    },
  });
  return { log: pino({ level: "debug" }, stream), lines };
}
