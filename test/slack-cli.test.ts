import { describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../config/load.js';
import { promoteCli } from './support/cli.js';
import { useTempDir } from './support/temp-dirs.js';

const TOKEN = 'xoxb-1234567890-abcdefghijklmnop';
const NO_SLACK = { SLACK_BOT_TOKEN: '', SLACK_SIGNING_SECRET: '', SLACK_APP_TOKEN: '' };

const BASE = `environments:
  - name: staging
    valuesFile: environments/staging.yaml
    approval: manual
    approvers: [alice]
apps:
  api: { tagPath: api.image.tag }
deploy: { type: command, diff: [x], apply: [x] }
`;

describe('promote slack', () => {
  it('needs a bot token, and a signing secret (HTTP) or an app token (Socket Mode)', async () => {
    expect(await promoteCli(['slack', '--port', '3001'], { env: NO_SLACK })).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN_FILE) must be set') as unknown,
    });
    const http = await promoteCli(['slack'], { env: { ...NO_SLACK, SLACK_BOT_TOKEN: TOKEN } });
    expect(http).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('SLACK_SIGNING_SECRET') as unknown,
    });
    const socket = await promoteCli(['slack', '--socket'], { env: { ...NO_SLACK, SLACK_BOT_TOKEN: TOKEN } });
    expect(socket).toMatchObject({ code: 2, stderr: expect.stringContaining('SLACK_APP_TOKEN') as unknown });
    expect(http.stderr + socket.stderr).not.toContain(TOKEN);
  });

  it('reads secrets from files, and says which one it cannot read without showing it', async () => {
    const result = await promoteCli(['slack'], {
      env: { ...NO_SLACK, SLACK_BOT_TOKEN_FILE: '/nonexistent/slack-token' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('SLACK_BOT_TOKEN_FILE: cannot read /nonexistent/slack-token: ENOENT');
  });
});

describe('promote validate: notifications.slack', () => {
  const dir = useTempDir('promote-slack-validate-');

  it('accepts a channel, a per-environment override and approvers’ Slack ids', () => {
    const config = parseConfig(
      BASE.replace(
        '    approvers: [alice]\n',
        "    approvers: [alice]\n    notifications: { slack: { channel: '#prod-deploys' } }\n",
      ) + "notifications:\n  slack:\n    channel: '#deploys'\n    users: { alice: U0123ABCD }\n",
    );
    expect(config.notifications?.slack).toEqual({ channel: '#deploys', users: { alice: 'U0123ABCD' } });
    expect(config.environments[0]?.notifications?.slack?.channel).toBe('#prod-deploys');
  });

  it('names file, line and key of each problem, and keeps tokens out', async () => {
    const file = join(dir(), 'promote.yaml');
    await writeFile(
      file,
      BASE.replace(
        '    approvers: [alice]\n',
        "    approvers: [alice]\n    notifications: { slack: { channel: 'Not A Channel' } }\n",
      ) +
        `notifications:
  slack:
    channel: '#deploys'
    token: ${TOKEN}
    users: { alice: alice@example.com }
`,
    );
    const result = await promoteCli(['validate', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain(TOKEN);
    expect(result.stderr).toMatch(
      /promote\.yaml:6: environments\[0\]\.notifications\.slack\.channel: must be a Slack channel/,
    );
    expect(result.stderr).toMatch(
      /promote\.yaml:13: notifications\.slack\.token: unknown key: Slack tokens and secrets never go in promote\.yaml/,
    );
    expect(result.stderr).toMatch(
      /promote\.yaml:14: notifications\.slack\.users\.alice: must be a Slack user id/,
    );
  });

  it('refuses a per-environment channel without the top-level section', () => {
    expect(() =>
      parseConfig(
        BASE.replace(
          '    approvers: [alice]\n',
          "    approvers: [alice]\n    notifications: { slack: { channel: '#x' } }\n",
        ),
      ),
    ).toThrow(/environments\[0\]\.notifications\.slack: needs notifications\.slack at the top level/);
  });
});
