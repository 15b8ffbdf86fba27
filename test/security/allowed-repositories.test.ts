import { describe, expect, it } from '@jest/globals';
import {
  allowedHosts,
  describeAllowedRepositories,
  parseAllowedRepositories,
  repositoryNotAllowed,
} from '../../common/allowed-repositories.js';
import { workerTrustFromEnv } from '../../worker/trust.js';

/** PROMOTE_ALLOWED_REPOSITORIES: patterns matched on the canonical repository key, however it is written. */

describe('PROMOTE_ALLOWED_REPOSITORIES', () => {
  const allowed = parseAllowedRepositories(
    'https://git.example.com/platform/deploy.git, git@github.com:acme/*, github:acme/*, /srv/repos/**',
    'any',
  );

  it.each([
    'https://git.example.com/platform/deploy',
    'ssh://git@git.example.com/platform/deploy.git',
    'git@git.example.com:platform/deploy.git',
    'HTTPS://Git.Example.com/platform/deploy/',
    'https://github.com/acme/gitops.git',
    'github:acme/gitops',
    '/srv/repos/team/a/deploy.git',
    'file:///srv/repos/x.git',
  ])('allows %s', (repo) => {
    expect(repositoryNotAllowed(repo, allowed)).toBeUndefined();
  });

  it.each([
    'https://git.example.com/platform/other.git',
    'https://git.example.com.evil.test/platform/deploy.git',
    'https://github.com/acme/team/nested.git', // `*` stays within one path segment
    'https://github.com/acme-evil/gitops.git',
    'github:other/gitops',
    '/srv/other/deploy.git',
    'http://127.0.0.1:8080/x.git',
  ])('refuses %s, naming the setting', (repo) => {
    expect(repositoryNotAllowed(repo, allowed)).toContain(
      "is not in this worker's PROMOTE_ALLOWED_REPOSITORIES",
    );
  });

  it('gives the credentials the hosts of its patterns, never a wildcard host', () => {
    expect(allowedHosts(allowed)).toEqual(['git.example.com', 'github.com']);
    expect(
      allowedHosts(parseAllowedRepositories('https://*.example.com/x, ssh://git@h:2222/x', 'any')),
    ).toEqual(['h:2222']);
  });

  it('unset: a production worker runs anything and says so loudly; promote dev runs local paths only', () => {
    const worker = workerTrustFromEnv({}, 'worker');
    expect(repositoryNotAllowed('https://anywhere.example/x.git', worker.allowed)).toBeUndefined();
    expect(worker.summary[0]).toMatch(/^WARNING: PROMOTE_ALLOWED_REPOSITORIES is not set/);

    const dev = workerTrustFromEnv({}, 'dev');
    expect(repositoryNotAllowed('/home/me/deploy.git', dev.allowed)).toBeUndefined();
    expect(repositoryNotAllowed('file:///home/me/deploy.git', dev.allowed)).toBeUndefined();
    expect(repositoryNotAllowed('https://git.example.com/x.git', dev.allowed)).toContain(
      '`promote dev` allows only local repositories',
    );
    expect(describeAllowedRepositories(dev.allowed)).toContain('local paths only');
  });
});
