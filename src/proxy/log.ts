// One logger shape for the proxies (pino's): structured fields first, then the words.
import { pino } from 'pino';

export type ProxyLog = pino.Logger;

export function proxyLog(name: string): ProxyLog {
  return pino({ name, level: process.env.NVO_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info') });
}
