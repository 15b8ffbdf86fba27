import { describe } from '@jest/globals';
import { useFaultServer } from './world.js';

/**
 * Concurrent pushers: several promotions of different apps at once (each environment one at a time),
 * and a person pushing commits to the same branch while they bump and revert.
 */
const faults = useFaultServer('pushers');

const APPS = { api: '1.4.0', web: '2.0.3', auth: '3.1.0', billing: '0.9.0' };

describe('concurrent pushers', () => {
  faults.test(
    'concurrent promotions and a person pushing commits',
    { apps: APPS },
    async (run) => {
      await run.startWorker();
      const rejects = new Set(Object.keys(APPS).filter(() => run.random.chance(0.3)));
      run.note(`staging rejected for ${[...rejects].join(', ') || 'none'}`);
      // Slow applies: a second promotion applying while another one's apply runs would show as overlap.
      await run.setFile('delay-apply', '1');
      const ids = await Promise.all(
        Object.keys(APPS).map((app) =>
          run.start({ apps: [{ app, tag: '5.0.0' }] }, rejects.has(app) ? 'rejected' : 'succeeded'),
        ),
      );
      const appOf = new Map(ids.map((id, i) => [id, Object.keys(APPS)[i] ?? '']));
      run.approver = (id) => !rejects.has(appOf.get(id) ?? '');
      // The person: a few commits at seeded moments while the promotions run (not to values files:
      // the cluster only learns of those at the next apply, which is the next promotion's job).
      const pushes = run.random.int(3, 8);
      run.note(`${pushes} commits pushed by a person`);
      const person = (async () => {
        for (let i = 0; i < pushes; i++) {
          await run.sleep(run.random.int(100, 1_500));
          const path = run.random.pick(['environments/base.yaml', 'docs/notes.md', 'helmfile.yaml']);
          // A person whose push lost a race pulls and pushes again.
          for (let attempt = 1; ; attempt++) {
            const previous = await run.repo.file(path).catch(() => '');
            try {
              await run.repo.commitFile(path, `${previous}# note ${i} from a person\n`, `docs: note ${i}`);
              break;
            } catch (error) {
              if (attempt === 5) throw error;
            }
          }
        }
      })();
      await Promise.all([person, run.settle()]);
      await run.verify({ nextApp: 'api' });
    },
    'alone',
  );
});
