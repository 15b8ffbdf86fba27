import { TestSshd } from './sshd.js';
import { useFixture } from './fixture.js';

/** A real sshd for the describe block it is called in: started before its tests, stopped after. */
export function useSshd(): { readonly sshd: TestSshd } {
  const sshd = useFixture(
    () => TestSshd.start(),
    (s) => s.stop(),
    { what: 'the sshd', timeoutMs: 60_000 },
  );
  return {
    get sshd(): TestSshd {
      return sshd();
    },
  };
}
