import { describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getStatus } from '../client/promotions.js';
import type { PromotionState } from '../common/types.js';
import { devSoaksAnHourRepo } from './support/environments.js';
import { TestRepo } from './support/repo.js';
import { useTimeSkipping } from './support/time-skipping.js';
import { eventually } from './support/wait.js';
import { startTagPromotion } from './support/requests.js';

/** Windows and freezes are hours long: the time-skipping server jumps over the wait. */
const time = useTimeSkipping();

const DEV_ONLY = [{ name: 'dev', approval: 'auto' as const }];

async function promoteWith(
  extraConfig: string,
  check: (waiting: PromotionState, final: PromotionState) => void,
) {
  const repo = await TestRepo.create({ environments: DEV_ONLY, extraConfig });
  const taskQueue = `windows-${Math.random().toString(36).slice(2)}`;
  try {
    await time.withWorker(taskQueue, async () => {
      const client = time.env.client;
      const handle = await startTagPromotion(client, taskQueue, repo);
      const waiting = await eventually('dev to wait for its window', async () => {
        const state = await getStatus(client, handle.workflowId);
        return state.environments[0]?.status === 'waiting-window' ? state : undefined;
      });
      expect(await repo.live('dev')).toContain('tag: "1.4.0"');
      await handle.result();
      check(waiting, await getStatus(client, handle.workflowId));
    });
  } finally {
    await repo.remove();
  }
}

function berlin(ms: number): { hour: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Berlin',
    hourCycle: 'h23',
    hour: 'numeric',
    minute: 'numeric',
  }).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { hour: get('hour'), minute: get('minute') };
}

describe('deployment windows and freezes (issue 22, item 1)', () => {
  it('waits for a window that opens later today in Europe/Berlin, then deploys at its opening', async () => {
    const now = await time.env.currentTimeMs();
    const { hour } = berlin(now);
    const from = `${String((hour + 2) % 24).padStart(2, '0')}:00`;
    const to = `${String((hour + 3) % 24).padStart(2, '0')}:00`;
    const config = `windows:\n  - { days: '*', from: "${from}", to: "${to}", timeZone: Europe/Berlin }\n`;
    await promoteWith(config, (waiting, final) => {
      const dev = waiting.environments[0];
      expect(waiting.status).toBe('waiting-window');
      expect(dev?.window?.details).toMatch(
        new RegExp(`^dev closed until [A-Z][a-z]{2} ${from} Europe/Berlin — outside its windows`),
      );
      const opens = Date.parse(dev?.window?.until ?? '');
      expect(berlin(opens)).toEqual({ hour: (hour + 2) % 24, minute: 0 });
      expect(opens - now).toBeGreaterThan(3_600_000);
      expect(opens - now).toBeLessThanOrEqual(2 * 3_600_000);
      expect(final.status).toBe('succeeded');
      expect(final.environments[0]?.window).toBeUndefined();
      // Applied once the window was open, not before.
      expect(Date.parse(final.environments[0]?.finishedAt ?? '')).toBeGreaterThanOrEqual(opens);
    });
  });

  it('is held by a freeze from promote.yaml and released when it ends', async () => {
    const now = await time.env.currentTimeMs();
    const end = new Date(now + 5 * 3_600_000).toISOString();
    const config = `freezes:\n  - { from: "${new Date(now - 3_600_000).toISOString()}", to: "${end}", reason: sale freeze }\n`;
    await promoteWith(config, (waiting, final) => {
      expect(waiting.environments[0]?.window?.details).toMatch(/^dev closed until .* UTC — sale freeze$/);
      expect(waiting.environments[0]?.window?.until).toBe(end);
      expect(final.status).toBe('succeeded');
      expect(Date.parse(final.environments[0]?.finishedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(end));
    });
  });

  it('soaks the tag in dev for its soak time before staging starts (issue 22, item 2)', async () => {
    const repo = await devSoaksAnHourRepo();
    try {
      await time.withWorker('soak', async () => {
        const client = time.env.client;
        const handle = await startTagPromotion(client, 'soak', repo);
        const soaking = await eventually('dev to soak', async () => {
          const state = await getStatus(client, handle.workflowId);
          return state.environments[0]?.status === 'soaking' ? state : undefined;
        });
        expect(soaking.status).toBe('soaking');
        expect(soaking.environments[1]?.status).toBe('pending');
        const dev = soaking.environments[0];
        expect(Date.parse(dev?.soakUntil ?? '') - Date.parse(dev?.finishedAt ?? '')).toBe(3_600_000);
        await handle.result();
        const final = await getStatus(client, handle.workflowId);
        expect(final.status).toBe('succeeded');
        expect(final.environments.map((e) => e.status)).toEqual(['succeeded', 'succeeded']);
        expect(Date.parse(final.environments[1]?.startedAt ?? '')).toBeGreaterThanOrEqual(
          Date.parse(dev?.soakUntil ?? ''),
        );
      });
    } finally {
      await repo.remove();
    }
  });

  it('stops a soak when the environment no longer runs the tag: the cluster is looked at during the soak', async () => {
    const repo = await devSoaksAnHourRepo();
    try {
      await time.withWorker('soak-watch', async () => {
        const client = time.env.client;
        const before = await repo.head();
        const handle = await startTagPromotion(client, 'soak-watch', repo);
        await eventually('dev to soak', async () => {
          const state = await getStatus(client, handle.workflowId);
          return state.environments[0]?.status === 'soaking' ? state : undefined;
        });
        // Someone rolls dev back outside Promote: the cluster runs the commit before the bump again.
        await writeFile(join(repo.cluster, 'dev.commit'), `${before}\n`);
        await expect(handle.result()).rejects.toThrow('Workflow execution failed');
        const final = await getStatus(client, handle.workflowId);
        expect(final.status).toBe('failed');
        expect(final.environments.map((e) => e.status)).toEqual(['failed', 'pending']);
        expect(final.environments[0]?.error).toBe(
          `soak failed: dev runs ${before?.slice(0, 12)}, not this promotion's values`,
        );
        expect(await repo.live('staging')).toContain('tag: "1.4.0"');
      });
    } finally {
      await repo.remove();
    }
  });
});
