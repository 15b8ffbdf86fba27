import { afterAll, afterEach, beforeAll, beforeEach } from '@jest/globals';

export interface FixtureOptions {
  /** Named in the error when the fixture is read before it is started: "<what> is not started yet". */
  what: string;
  /** Started before each test and stopped after it (default: once for the describe block). */
  each?: boolean;
  /** The start hook's timeout (jest's default when not given). */
  timeoutMs?: number;
}

/**
 * One jest fixture: `start` in a before hook, `stop` (when given) in the matching after hook, for the
 * describe block it is called in. Returns its getter, which throws when read outside the hooks' reach
 * (at collection time, or after a failed start) rather than handing a test `undefined`.
 */
export function useFixture<T>(
  start: () => Promise<T>,
  stop: ((value: T) => Promise<void>) | undefined,
  { what, each = false, timeoutMs }: FixtureOptions,
): () => T {
  let current: T | undefined;
  (each ? beforeEach : beforeAll)(async () => {
    current = await start();
  }, timeoutMs);
  if (stop)
    (each ? afterEach : afterAll)(async () => {
      if (current !== undefined) await stop(current);
    });
  return () => {
    if (current === undefined) throw new Error(`${what} is not started yet`);
    return current;
  };
}
