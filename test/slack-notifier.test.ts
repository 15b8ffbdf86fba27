import { describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPromotion, waitForApproval } from '../client/promotions.js';
import type { Announcement, Notifier } from '../activities/notifier.js';
import { eventMessage, rootMessage } from '../activities/slack/blocks.js';
import { PROJECT_ROOT } from '../server/tools.js';
import type { StoredMessage } from './support/slack-api.js';
import { slackNotifier } from './support/slack-notifier.js';
import { useSlackStandIn } from './support/slack-suite.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { promoteTagToEnd } from './support/requests.js';
import { approveToEnd } from './support/approve.js';

const suite = useTemporal();
const TOKEN = 'xoxb-0000000000-test-token';
const SLACK_CONFIG = `notifications:
  slack:
    channel: '#deploys'
    users: { alice: U0ALICE, bob: U0BOB }
`;
const standIn = useSlackStandIn(TOKEN);

/** The notifier `promote worker` builds from its environment when a bot token is set. */
const workerNotifier = (): Notifier =>
  slackNotifier(standIn.slack, { PROMOTE_WEB_UI_URL: 'https://temporal.example.com' });

const texts = (messages: StoredMessage[]) => messages.map((m) => m.text);
const hasButtons = (m: StoredMessage | undefined) =>
  (m?.blocks ?? []).some((b) => (b as { type?: string }).type === 'actions');

describe('Slack announcements', () => {
  it('posts one root message kept current and a thread that matches what happened', async () => {
    const repo = await TestRepo.create({
      environments: [
        { name: 'dev', approval: 'auto' },
        { name: 'staging', approval: 'manual', approvers: ['alice', 'bob'] },
      ],
      extraConfig: SLACK_CONFIG,
    });
    // Slack is rate limiting at first and has a hiccup: neither may duplicate a message.
    standIn.slack.fail('chat.postMessage', { kind: 'rate-limited', retryAfter: 1 });
    standIn.slack.fail('chat.update', { kind: 'server-error' });
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const handle = await startPromotion(
          suite.temporal.client,
          {
            repo: repo.url,
            apps: [
              {
                app: 'api',
                tag: '1.5.0',
                source: { repo: 'https://git.example.com/shop/api', ref: '9f3e2c1' },
              },
            ],
            requestedBy: 'ci',
          },
          { taskQueue },
        );
        const waiting = await waitForApproval(suite.temporal.client, handle.workflowId, 'staging');
        expect(waiting.slackUsers).toEqual({ alice: 'U0ALICE', bob: 'U0BOB' });
        const final = await approveToEnd(suite.temporal.client, handle.workflowId, 'staging', 'alice');
        expect(final.status).toBe('succeeded');
        expect(final.undelivered).toBeUndefined();

        const [root, ...otherRoots] = standIn.slack.roots('C0DEPLOYS');
        expect(otherRoots).toEqual([]);
        expect(root?.text).toBe('Promotion api=1.5.0: succeeded');
        expect(final.messages?.['root:#deploys']).toEqual({ channel: 'C0DEPLOYS', ts: root?.ts });
        const thread = standIn.slack.thread(root as StoredMessage);
        expect(texts(thread)).toEqual([
          'Deploying api 1.4.0 → 1.5.0 in dev',
          'Deployed api 1.4.0 → 1.5.0 in dev',
          'Deploying api 1.4.0 → 1.5.0 in staging',
          'staging waits for approval of api 1.4.0 → 1.5.0: ✅ Approved by <@U0ALICE>',
          'Deployed api 1.4.0 → 1.5.0 in staging',
        ]);
        // The approval request no longer offers buttons: it says who decided.
        const approval = thread[3];
        expect(hasButtons(approval)).toBe(false);
        expect(JSON.stringify(approval?.blocks)).toContain('Approved by <@U0ALICE>');
        expect(JSON.stringify(root?.blocks)).toContain(
          `https://temporal.example.com/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}`,
        );
        expect(JSON.stringify(root?.blocks)).toContain('https://git.example.com/shop/api/commit/9f3e2c1');
        // One post per message, plus the one Slack rate-limited and the client retried after Retry-After.
        expect(standIn.slack.calls.filter((c) => c === 'chat.postMessage')).toHaveLength(1 + 5 + 1);
      },
      { notifier: workerNotifier() },
    );
  });

  it('records announcements Slack would not take and deploys all the same', async () => {
    const repo = await TestRepo.create({
      environments: [
        { name: 'dev', approval: 'auto' },
        { name: 'staging', approval: 'auto', slackChannel: '#nowhere' },
      ],
      extraConfig: SLACK_CONFIG,
    });
    // dev's channel answers with 500s throughout; staging's does not exist (ok: false).
    standIn.slack.fail('chat.postMessage', { kind: 'server-error', channel: '#deploys' }, 100);
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const final = await promoteTagToEnd(suite.temporal.client, taskQueue, repo);
        expect(final.status).toBe('succeeded');
        expect(final.environments.map((e) => e.status)).toEqual(['succeeded', 'succeeded']);
        const undelivered = final.undelivered ?? [];
        expect(undelivered.find((u) => !u.env)?.error).toMatch(/500/);
        expect(undelivered.find((u) => u.env === 'staging')?.error).toContain('channel_not_found');
        expect(JSON.stringify(undelivered)).not.toContain(TOKEN);
      },
      { notifier: workerNotifier() },
    );
  });
});

describe('Slack Block Kit', () => {
  const base: Announcement = {
    promotionId: 'promote-api-1.5.0-3f2a',
    env: 'staging',
    outcome: 'deployed',
    apps: [
      { app: 'api', tag: '1.5.0', previousTag: '1.4.0' },
      { app: 'web', tag: '2.1.0' },
    ],
    commit: '0123456789abcdef0123456789abcdef01234567',
    channel: '#deploys',
    approvers: ['alice', 'bob'],
    promotion: {
      kind: 'promotion',
      status: 'running',
      requestedBy: 'ci',
      apps: [
        { app: 'api', tag: '1.5.0', source: { repo: 'https://git.example.com/shop/api', ref: '9f3e2c1' } },
        { app: 'web', tag: '2.1.0' },
      ],
      environments: [
        { name: 'dev', status: 'succeeded' },
        { name: 'staging', status: 'waiting-approval' },
        { name: 'prod', status: 'pending' },
      ],
    },
  };
  const links = {
    promotion: (id: string) => `https://temporal.example.com/namespaces/default/workflows/${id}`,
  };
  const kinds: [string, Partial<Announcement>][] = [
    ['started', { outcome: 'started', detail: '1 line changed\n+    tag: "1.5.0"' }],
    ['waiting-approval', { outcome: 'waiting-approval' }],
    ['deployed', { outcome: 'deployed' }],
    [
      'failed',
      {
        outcome: 'failed',
        detail: 'apply exited with 3',
        revertCommit: 'fedcba9876543210',
        rolledBack: true,
      },
    ],
    [
      'rejected',
      { outcome: 'rejected', detail: 'rejected by carol: not today', revertCommit: 'fedcba9876543210' },
    ],
    ['superseded', { outcome: 'superseded', detail: 'superseded by promote-api-1.6.0' }],
    ['cancelled', { outcome: 'cancelled' }],
    ['rolled-back', { outcome: 'rolled-back', detail: 'helm rollback to revision 7' }],
    ['repaired', { outcome: 'repaired', detail: 'release was pending-upgrade' }],
    ['drift', { outcome: 'drift', detail: 'api runs 1.3.9, Git says 1.4.0' }],
  ];

  it('matches the kept snapshot for every message kind', () => {
    const rendered: Record<string, unknown> = {
      root: rootMessage({ ...base, outcome: 'promotion', env: '' }, links),
    };
    for (const [name, change] of kinds) rendered[name] = eventMessage({ ...base, ...change });
    const file = join(PROJECT_ROOT, 'test', 'fixtures', 'slack-blocks.json');
    // UPDATE_SLACK_SNAPSHOT=1 rewrites the snapshot after a deliberate change (review its diff).
    if (process.env.UPDATE_SLACK_SNAPSHOT === '1') {
      writeFileSync(file, `${JSON.stringify(rendered, null, 2)}\n`);
    }
    expect(rendered).toEqual(JSON.parse(readFileSync(file, 'utf8')));
  });

  it('keeps a long failure reason within Slack’s section limit', () => {
    const message = eventMessage({ ...base, outcome: 'failed', detail: 'x'.repeat(10_000) });
    for (const block of message.blocks) {
      const text = (block as { text?: { text?: string } }).text?.text ?? '';
      expect(text.length).toBeLessThanOrEqual(3_000);
    }
  });
});
