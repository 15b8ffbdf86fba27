// `node dist/test/support/record-slack-histories.js`: records the histories of runs that take the
// patched announcement paths ('best-effort-announce', 'slack-thread') under new names in
// test/histories/, beside (never over) the existing ones. test/replay.test.ts replays every file there.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { decide, waitFinished, waitForApproval } from '../../client/promotions.js';
import type { Notifier } from '../../activities/notifier.js';
import { PROJECT_ROOT } from '../../server/tools.js';
import { createNotifier } from '../../worker/notifier.js';
import { SlackApiStandIn } from './slack-api.js';
import { TestRepo } from './repo.js';
import { TestTemporal } from './temporal.js';
import { startTagPromotion } from './requests.js';

const out = join(PROJECT_ROOT, 'test', 'histories');
const TOKEN = 'xoxb-0000000000-history-token';
const quiet: Notifier = { announce: () => Promise.resolve() };

const temporal = await TestTemporal.start();
const slack = await new SlackApiStandIn(TOKEN).start();

async function record(name: string, notifier: Notifier, failAnnouncements = false): Promise<void> {
  const file = join(out, `${name}.json`);
  if (existsSync(file)) throw new Error(`${file} exists: recorded histories are append-only`);
  const repo = await TestRepo.create({
    environments: [
      { name: 'dev', approval: 'auto' },
      { name: 'staging', approval: 'manual', approvers: ['alice'] },
    ],
    extraConfig: "notifications:\n  slack:\n    channel: '#deploys'\n    users: { alice: U0ALICE }\n",
  });
  if (failAnnouncements) slack.fail('chat.postMessage', { kind: 'error', error: 'channel_not_found' }, 1_000);
  try {
    const id = await temporal.withWorker(
      async ({ taskQueue }) => {
        const h = await startTagPromotion(temporal.client, taskQueue, repo);
        await waitForApproval(temporal.client, h.workflowId, 'staging');
        await decide(temporal.client, h.workflowId, { env: 'staging', approved: true, by: 'alice' });
        await waitFinished(temporal.client, h.workflowId);
        return h.workflowId;
      },
      { notifier },
    );
    const history = await temporal.client.workflow.getHandle(id).fetchHistory();
    await writeFile(file, `${historyToJSON(history)}\n`);
    process.stdout.write(`saved ${name} (${history.events?.length ?? 0} events)\n`);
  } finally {
    await repo.remove();
  }
}

try {
  const notifier = createNotifier('default', { SLACK_BOT_TOKEN: TOKEN, SLACK_API_URL: slack.url }, quiet);
  await record('promote-slack-thread', notifier);
  await record('promote-slack-undelivered', notifier, true);
} finally {
  await slack.stop();
  await temporal.teardown();
}
