import { describe, expect, it } from '@jest/globals';
import { waitFinished } from '../client/promotions.js';
import { promoteCli } from './support/cli.js';
import { DEV_THEN_STAGING_AUTO, soakDev } from './support/environments.js';
import { TestRepo } from './support/repo.js';
import { startTagPromotion } from './support/requests.js';
import type { StoredMessage } from './support/slack-api.js';
import { slackNotifier } from './support/slack-notifier.js';
import { useSlackStandIn } from './support/slack-suite.js';
import { useTemporal } from './support/suite.js';
import { envStatus, eventually } from './support/wait.js';

/** Issue 22: a promotion held by a window or soaking says so in its Slack thread, not only in status. */
const suite = useTemporal();
const stand = useSlackStandIn();
const SLACK = `notifications:\n  slack:\n    channel: '#deploys'\n`;

/** The promotion's thread replies, as Slack has them now. */
function thread(): StoredMessage[] {
  const [root] = stand.slack.roots('C0DEPLOYS');
  return root ? stand.slack.thread(root) : [];
}

/** The promotion's thread reply whose text matches, once Slack has it. */
function reply(matching: RegExp): Promise<StoredMessage> {
  return eventually(`a thread reply matching ${String(matching)}`, () =>
    Promise.resolve(thread().find((m) => matching.test(m.text))),
  );
}

describe('governance in Slack (issue 22)', () => {
  it('posts why an environment waits for its window, once, and then its deploy', async () => {
    const repo = await TestRepo.create({
      environments: [{ name: 'qa', approval: 'auto' }],
      extraConfig: SLACK,
    });
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const cli = (args: string[]) => promoteCli(args, { address: suite.temporal.address, taskQueue });
        const frozen = await cli(['freeze', '--env', 'qa', '--until', '2h', '--reason', 'sale freeze']);
        expect(frozen.code).toBe(0);
        try {
          const client = suite.temporal.client;
          const handle = await startTagPromotion(client, taskQueue, repo, { requestedBy: 'ci' });
          await envStatus(client, handle.workflowId, 'qa', 'waiting-window');
          const closed = await reply(/qa closed until/);
          expect(closed.text).toMatch(/^qa closed until .* UTC — sale freeze$/);
          expect(JSON.stringify(closed.blocks)).toContain('🕘');
          expect((await cli(['unfreeze', '--env', 'qa'])).code).toBe(0);
          expect((await waitFinished(client, handle.workflowId)).status).toBe('succeeded');
          await reply(/^Deployed api/);
          expect(thread().filter((m) => m.text.includes('closed until'))).toHaveLength(1);
        } finally {
          await cli(['unfreeze', '--env', 'qa']);
        }
      },
      { notifier: slackNotifier(stand.slack) },
    );
  });

  it('posts that an environment soaks, until when, before the next one may start', async () => {
    const repo = await TestRepo.create({ environments: DEV_THEN_STAGING_AUTO, extraConfig: SLACK });
    await soakDev(repo, '1h', 'soak dev for an hour');
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const client = suite.temporal.client;
        const handle = await startTagPromotion(client, taskQueue, repo, { requestedBy: 'ci' });
        const soaking = await envStatus(client, handle.workflowId, 'dev', 'soaking');
        const posted = await reply(/dev soaking until/);
        const until = soaking.environments[0]?.soakUntil ?? 'no soakUntil';
        expect(posted.text).toBe(`dev soaking until ${until}: staging starts after it`);
        expect(JSON.stringify(posted.blocks)).toContain('🧪');
        await handle.cancel();
        expect((await waitFinished(client, handle.workflowId)).status).toBe('cancelled');
      },
      { notifier: slackNotifier(stand.slack) },
    );
  });
});
