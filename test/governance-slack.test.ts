import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { startPromotion, waitFinished } from '../client/promotions.js';
import type { Notifier } from '../activities/notifier.js';
import { createNotifier } from '../worker/notifier.js';
import { promoteCli } from './support/cli.js';
import { SlackApiStandIn, type StoredMessage } from './support/slack-api.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { envStatus, eventually } from './support/wait.js';

/** Issue 22: a promotion held by a window or soaking says so in its Slack thread, not only in status. */
const suite = useTemporal();
const TOKEN = 'xoxb-0000000000-governance-token';
const SLACK = `notifications:\n  slack:\n    channel: '#deploys'\n`;
let slack: SlackApiStandIn;
beforeEach(async () => {
  slack = await new SlackApiStandIn(TOKEN).start();
});
afterEach(async () => {
  await slack.stop();
});

const quietLog: Notifier = { announce: () => Promise.resolve() };
const notifier = () =>
  createNotifier('default', { SLACK_BOT_TOKEN: TOKEN, SLACK_API_URL: slack.url }, quietLog);

/** The promotion's thread reply whose text matches, once Slack has it. */
function reply(matching: RegExp): Promise<StoredMessage> {
  return eventually(`a thread reply matching ${String(matching)}`, () => {
    const [root] = slack.roots('C0DEPLOYS');
    return Promise.resolve(root ? slack.thread(root).find((m) => matching.test(m.text)) : undefined);
  });
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
          const handle = await startPromotion(
            client,
            { repo: repo.url, apps: [{ app: 'api', tag: '1.5.0' }], requestedBy: 'ci' },
            { taskQueue },
          );
          await envStatus(client, handle.workflowId, 'qa', 'waiting-window');
          const closed = await reply(/qa closed until/);
          expect(closed.text).toMatch(/^qa closed until .* UTC — sale freeze$/);
          expect(JSON.stringify(closed.blocks)).toContain('🕘');
          expect((await cli(['unfreeze', '--env', 'qa'])).code).toBe(0);
          expect((await waitFinished(client, handle.workflowId)).status).toBe('succeeded');
          await reply(/^Deployed api/);
          const [root] = slack.roots('C0DEPLOYS');
          const thread = root ? slack.thread(root) : [];
          expect(thread.filter((m) => m.text.includes('closed until'))).toHaveLength(1);
        } finally {
          await cli(['unfreeze', '--env', 'qa']);
        }
      },
      { notifier: notifier() },
    );
  });

  it('posts that an environment soaks, until when, before the next one may start', async () => {
    const repo = await TestRepo.create({
      environments: [
        { name: 'dev', approval: 'auto' },
        { name: 'staging', approval: 'auto' },
      ],
      extraConfig: SLACK,
    });
    const yaml = await repo.file('promote.yaml');
    await repo.commitFile(
      'promote.yaml',
      yaml.replace(
        'valuesFile: environments/dev.yaml\n',
        'valuesFile: environments/dev.yaml\n    soak: 1h\n',
      ),
      'soak dev for an hour',
    );
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const client = suite.temporal.client;
        const handle = await startPromotion(
          client,
          { repo: repo.url, apps: [{ app: 'api', tag: '1.5.0' }], requestedBy: 'ci' },
          { taskQueue },
        );
        const soaking = await envStatus(client, handle.workflowId, 'dev', 'soaking');
        const posted = await reply(/dev soaking until/);
        const until = soaking.environments[0]?.soakUntil ?? 'no soakUntil';
        expect(posted.text).toBe(`dev soaking until ${until}: staging starts after it`);
        expect(JSON.stringify(posted.blocks)).toContain('🧪');
        await handle.cancel();
        expect((await waitFinished(client, handle.workflowId)).status).toBe('cancelled');
      },
      { notifier: notifier() },
    );
  });
});
