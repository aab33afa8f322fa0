// The error a promise rejects with; a test fails if it resolves instead.
import { expect } from 'vitest';

export async function rejection<E extends Error = Error>(p: Promise<unknown>, type: abstract new (...args: never[]) => E = Error as never): Promise<E> {
  const outcome = await p.then(
    () => ({ resolved: true as const }),
    (err: unknown) => ({ resolved: false as const, err }),
  );
  if (outcome.resolved) throw new Error('expected a rejection');
  expect(outcome.err).toBeInstanceOf(type);
  return outcome.err as E;
}
