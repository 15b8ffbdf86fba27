import { describe, expect, it } from '@jest/globals';
import type { Announcement } from '../../activities/notifier.js';
import type { SlackMessage } from '../../activities/slack/blocks.js';
import { eventMessage, outcomeLine, rootMessage } from '../../activities/slack/blocks.js';

const links = {
  promotion: (id: string) => `https://temporal.example.com/workflows/${encodeURIComponent(id)}`,
};

/** Every piece of mrkdwn Slack would parse: the fallback text and each block's text. */
function mrkdwn(message: SlackMessage): string[] {
  const texts = [message.text];
  for (const block of message.blocks) {
    if (block.type === 'section' && block.text) texts.push(block.text.text);
    if (block.type === 'context')
      for (const e of block.elements) if ('text' in e && typeof e.text === 'string') texts.push(e.text);
  }
  return texts;
}

/** What Slack would turn into a mention, a broadcast or a link of the sender's choosing. */
const CONTROL = /<[!@#]|<https?:\/\/evil/;

function base(overrides: Partial<Announcement>): Announcement {
  return {
    promotionId: 'promote-api-1.5.0-abc',
    env: 'staging',
    outcome: 'failed',
    apps: [{ app: 'api', tag: '1.5.0', previousTag: '1.4.0' }],
    ...overrides,
  };
}

describe('Slack text cannot ping or link on behalf of its input', () => {
  it('a reason or deploy output with <!channel> is shown as text', () => {
    for (const outcome of [
      'failed',
      'rejected',
      'superseded',
      'rolled-back',
      'repaired',
      'drift',
      'started',
    ] as const) {
      const message = eventMessage(
        base({ outcome, detail: 'boom <!channel> <@U0ADMIN> & <https://evil.example|x>' }),
      );
      for (const text of mrkdwn(message)) expect(text).not.toMatch(CONTROL);
      expect(mrkdwn(message).join('\n')).toContain('&lt;!channel&gt;');
    }
  });

  it('a source URL cannot close its link and ping <!channel>', () => {
    const promotion = {
      kind: 'promotion' as const,
      status: 'running' as const,
      apps: [
        {
          app: 'api',
          tag: '1.5.0',
          source: {
            repo: 'https://git.example.com/a><!channel><https://evil.example|click',
            ref: 'abc<!here>',
          },
        },
      ],
      environments: [{ name: 'staging', status: 'waiting-approval' as const }],
      requestedBy: 'mallory <!channel>',
    };
    const root = rootMessage(base({ env: '', outcome: 'promotion', promotion }), links);
    const event = eventMessage(base({ outcome: 'deployed', promotion, commit: 'f'.repeat(40) }));
    for (const text of [...mrkdwn(root), ...mrkdwn(event)]) expect(text).not.toMatch(CONTROL);
  });

  it('the decision line of a CLI decision escapes who decided and why', () => {
    const line = outcomeLine(
      base({ outcome: 'rejected', decidedBy: 'eve <!channel>', decisionComment: 'no <!everyone>' }),
    );
    expect(line).not.toMatch(CONTROL);
  });

  it('a promotion id with markup does not break its own link', () => {
    const root = rootMessage(base({ env: '', outcome: 'promotion', promotionId: 'x>|<!channel>' }), links);
    for (const text of mrkdwn(root)) expect(text).not.toMatch(CONTROL);
  });
});
