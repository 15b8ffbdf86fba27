import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deployEnvironment } from '../../activities/deploy-env.js';
import { redact } from '../../activities/redact.js';
import { workerSecretValues } from '../../activities/worker-secrets.js';
import { ApplicationFailure } from '@temporalio/common';
import { redactedTextLog } from '../../worker/logging.js';
import { redactFailure } from '../../worker/redact-failures.js';

/** The redaction patterns and the secrets registry, each shape on its own. */
const saved = { ...process.env };
afterEach(() => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
});

describe('redact', () => {
  it.each([
    ['PROMOTE_GIT_TOKEN=planted-1234', 'planted-1234'],
    ['export SLACK_SIGNING_SECRET="planted two"', 'planted two'],
    ['  db_password: planted-3', 'planted-3'],
    ['{"apiKey": "planted-4"}', 'planted-4'],
    ['Authorization: Bearer planted.jwt.value', 'planted.jwt.value'],
    ['authorization: Basic cGxhbnRlZDp2YWx1ZQ==', 'cGxhbnRlZDp2YWx1ZQ=='],
    ['curl -H "Authorization: token planted-5"', 'planted-5'],
    ['Proxy-Authorization: planted-6', 'planted-6'],
    ['got bearer planted-bearer-77 back', 'planted-bearer-77'],
    ['xapp-1-A0APP-1234-abcdef0123', 'xapp-1-A0APP-1234-abcdef0123'],
    ['xoxe-1-abcdefghijklmnop', 'xoxe-1-abcdefghijklmnop'],
    ['xoxe.xoxp-1-abcdefghijklmnop', 'xoxe.xoxp-1-abcdefghijklmnop'],
    ['xoxb-123-456-abcdefghij', 'xoxb-123-456-abcdefghij'],
    ['glpat-abcdefghij0123456789', 'glpat-abcdefghij0123456789'],
    ['ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
    ['github_pat_11ABCDEFG0123456789_abcdefghij', 'github_pat_11ABCDEFG0123456789_abcdefghij'],
    ['https://bot:planted-8@git.example.com/x.git', 'planted-8'],
  ])('masks %s', (text, secret) => {
    expect(redact(text)).not.toContain(secret);
    expect(redact(text)).toContain('***');
  });

  it('masks PEM blocks, whole or cut', () => {
    const body = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7';
    const block = `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----`;
    expect(redact(`key:\n${block}\nafter`)).toBe('key:\n-----BEGIN ***-----\nafter');
    expect(redact(`…${body}\n-----END RSA PRIVATE KEY-----\nafter`)).not.toContain(body);
    expect(redact(`-----BEGIN OPENSSH PRIVATE KEY-----\n${body}`)).not.toContain(body);
  });

  it('leaves ordinary output and masked Helm values alone', () => {
    const text = '+    tag: "1.5.0"\n  secretRef: shop-slack\n  apiKey: <masked hmac-sha256:0123456789ab>';
    expect(redact(text)).toBe(text);
  });

  it('masks the value of every secret the worker holds, from variables, files and PROMOTE_SECRET_ENV', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promote-redact-'));
    try {
      await writeFile(join(dir, 'app-token'), 'planted-from-file\n');
      process.env.PROMOTE_GIT_TOKEN = 'planted-git';
      process.env.SLACK_APP_TOKEN_FILE = join(dir, 'app-token');
      process.env.PROMOTE_SECRET_ENV = 'DB_PASSWORD, VAULT_TOKEN';
      process.env.DB_PASSWORD = 'planted-db';
      process.env.PROMOTE_GITHUB_APP_PRIVATE_KEY =
        '-----BEGIN RSA PRIVATE KEY-----\nplanted-key-line-0123456789\n-----END RSA PRIVATE KEY-----\n';
      expect(workerSecretValues()).toEqual(
        expect.arrayContaining([
          'planted-git',
          'planted-from-file',
          'planted-db',
          'planted-key-line-0123456789',
        ]),
      );
      const text = 'git planted-git, app planted-from-file, db planted-db, line planted-key-line-0123456789';
      expect(redact(text)).toBe('git ***, app ***, db ***, line ***');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('redacts the plain-text worker log', () => {
    process.env.PROMOTE_GIT_TOKEN = 'planted-in-a-log';
    const lines: string[] = [];
    redactedTextLog((l) => lines.push(l))({
      level: 'WARN',
      message: 'Activity failed: planted-in-a-log',
      meta: { stderr: 'Authorization: Bearer planted-bearer-99' },
      timestampNanos: 1_700_000_000_000_000_000n,
    });
    expect(lines.join('')).toMatch(/^2023-11-14T22:13:20.000Z \[WARN\] Activity failed: \*\*\*/);
    expect(lines.join('')).not.toMatch(/planted/);
  });
});

describe('an activity failure', () => {
  it('leaves the activity with its message, stack, details and causes redacted', () => {
    process.env.PROMOTE_GIT_TOKEN = 'planted-in-a-failure';
    const cause = new Error('git said planted-in-a-failure');
    const failure = ApplicationFailure.create({
      message: 'apply failed: Authorization: Bearer planted-bearer-0042',
      type: 'DeployCommandFailed',
      nonRetryable: true,
      details: [{ output: 'token=planted-in-a-failure' }, 'planted-in-a-failure'],
      cause,
    });
    redactFailure(failure);
    const seen = JSON.stringify([
      failure.message,
      failure.stack,
      failure.details,
      cause.message,
      cause.stack,
    ]);
    expect(seen).not.toMatch(/planted/);
    expect(failure.message).toBe('apply failed: Authorization: Bearer ***');
  });
});

describe('the deploy environment', () => {
  it('is the allow-list and the operator-named variables, never the worker secrets', () => {
    const env = deployEnvironment({
      PATH: '/usr/bin',
      HOME: '/home/promote',
      LC_ALL: 'C',
      KUBECONFIG: '/kube/config',
      HELM_CACHE_HOME: '/cache/helm',
      HELM_REPO_PASSWORD: 'planted',
      PROMOTE_SECRET_ENV: 'HELM_REPO_PASSWORD',
      PROMOTE_GIT_TOKEN: 'planted',
      SLACK_BOT_TOKEN: 'planted',
      SLACK_SIGNING_SECRET_FILE: '/secrets/signing',
      GITHUB_TOKEN: 'planted',
      AWS_PROFILE: 'deploy',
      AWS_SECRET_ACCESS_KEY: 'planted',
      TEMPORAL_ADDRESS: 'temporal:7233',
      PROMOTE_DEPLOY_ENV: 'AWS_PROFILE, MISSING',
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/promote',
      LC_ALL: 'C',
      KUBECONFIG: '/kube/config',
      HELM_CACHE_HOME: '/cache/helm',
      AWS_PROFILE: 'deploy',
    });
  });
});
