import { afterAll, beforeAll } from '@jest/globals';
import { TestSshd } from './sshd.js';

/** A real sshd for the describe block it is called in: started before its tests, stopped after. */
export function useSshd(): { readonly sshd: TestSshd } {
  let current: TestSshd | undefined;
  beforeAll(async () => {
    current = await TestSshd.start();
  }, 60_000);
  afterAll(async () => {
    await current?.stop();
  });
  return {
    get sshd(): TestSshd {
      if (!current) throw new Error('the sshd is not started yet');
      return current;
    },
  };
}
