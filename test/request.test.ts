import { describe, expect, it } from '@jest/globals';
import { promotionWorkflowId } from '../common/ids.js';
import { parseAppTag, parseSource, tagProblem } from '../common/tags.js';
import { redact } from '../activities/redact.js';
import { repoProblem } from '../common/request.js';

describe('tags', () => {
  it.each(['1.2.3', 'v1.2.3-rc.1', 'sha-9f3e2c1', '_internal', 'a'.repeat(128)])('accepts %s', (tag) => {
    expect(tagProblem(tag)).toBeUndefined();
  });
  it.each(['', '-x', '.x', 'a b', 'a"b', "a'b", '$(id)', 'a;b', 'a\nb', 'a'.repeat(129), 'ä'])(
    'refuses %j',
    (tag) => {
      expect(tagProblem(tag)).toMatch(/invalid tag/);
    },
  );
  it('parses app=tag and app=repo@ref', () => {
    expect(parseAppTag('api=1.5.0')).toEqual({ app: 'api', tag: '1.5.0' });
    expect(() => parseAppTag('api')).toThrow('expected app=tag');
    expect(parseSource('api=git@github.com:shop/api.git@9f3e2c1')).toEqual({
      app: 'api',
      source: { repo: 'git@github.com:shop/api.git', ref: '9f3e2c1' },
    });
    expect(() => parseSource('api=repo')).toThrow('expected app=<repo-url>@<ref>');
  });
});

describe('promotion ids', () => {
  const base = {
    repo: '/r.git',
    apps: [
      { app: 'b', tag: '2' },
      { app: 'a', tag: '1' },
    ],
  };
  it('are the same for the same request, whatever the app order or requester', () => {
    expect(promotionWorkflowId(base)).toBe(
      promotionWorkflowId({ ...base, apps: [...base.apps].reverse(), requestedBy: 'someone-else' }),
    );
    expect(promotionWorkflowId(base)).toMatch(/^promote-a-1_b-2-[0-9a-f]{8}$/);
  });
  it('differ when repo, tags or target differ', () => {
    const ids = new Set([
      promotionWorkflowId(base),
      promotionWorkflowId({ ...base, repo: '/other.git' }),
      promotionWorkflowId({ ...base, apps: [{ app: 'a', tag: '1' }] }),
      promotionWorkflowId({ ...base, to: 'dev' }),
    ]);
    expect(ids.size).toBe(4);
  });
});

describe('redaction', () => {
  it('hides credentials in URLs and well-known token shapes', () => {
    expect(redact('fatal: https://x-access-token:ghs_abcdefghijklmnopqrstuvwxyz@github.com/o/r.git')).toBe(
      'fatal: https://***@github.com/o/r.git',
    );
    expect(redact('token ghp_0123456789abcdefghijABCDEFGHIJ leaked')).toBe('token *** leaked');
    expect(redact('xoxb-123456789012-abcdefghij')).toBe('***');
    expect(redact('password=hunter22 rest')).toBe('password=*** rest');
  });
});

describe('repository URLs', () => {
  it.each([
    ['https://github.com/o/deploy.git', undefined],
    ['git@github.com:o/deploy.git', undefined],
    ['ssh://git@github.com/o/deploy.git', undefined],
    ['/srv/git/deploy.git', undefined],
    ['https://x-access-token:ghs_abc@github.com/o/deploy.git', /carries credentials/],
    ['https://ghp_token@github.com/o/deploy.git', /carries credentials/],
    ['ssh://git:hunter2@host/o/deploy.git', /carries credentials/],
  ])('%s', (url, problem) => {
    if (problem) expect(repoProblem(url)).toMatch(problem);
    else expect(repoProblem(url)).toBeUndefined();
  });
});
