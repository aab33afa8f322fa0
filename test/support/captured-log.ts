// A pino logger whose JSON lines a test can read: what an operator's log shipper would see.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export function capturedLog(level = 'info'): { log: Logger; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { log: pino({ level }, sink), lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
