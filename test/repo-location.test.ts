import { describe, expect, it } from '@jest/globals';
import { resolveRepoLocation } from '../client/repo-location.js';
import { repoProblem } from '../common/request.js';

describe('resolving a repository the user typed', () => {
  it.each([
    ['deployment.git', '/home/me/deployment.git'],
    ['./.promote/demo/deployment.git', '/home/me/.promote/demo/deployment.git'],
    ['../other/deploy.git', '/home/other/deploy.git'],
    ['/srv/git/deploy.git', '/srv/git/deploy.git'],
    ['sub/dir:with-colon.git', '/home/me/sub/dir:with-colon.git'],
    ['file://deployment.git', 'file:///home/me/deployment.git'],
    ['file://./a/../deployment.git', 'file:///home/me/deployment.git'],
    ['file:///srv/git/deploy.git', 'file:///srv/git/deploy.git'],
    ['file://localhost/srv/git/deploy.git', 'file:///srv/git/deploy.git'],
    ['https://github.com/o/deploy.git', 'https://github.com/o/deploy.git'],
    ['ssh://git@github.com/o/deploy.git', 'ssh://git@github.com/o/deploy.git'],
    ['git@github.com:o/deploy.git', 'git@github.com:o/deploy.git'],
    ['host:deploy.git', 'host:deploy.git'],
  ])('%s → %s', (typed, sent) => {
    expect(resolveRepoLocation(typed, '/home/me')).toBe(sent);
  });

  it.each(['deployment.git', './x.git', 'file://x.git'])(
    'the worker refuses the relative %s it cannot resolve',
    (repo) => {
      expect(repoProblem(repo)).toMatch(/is a relative path, which the worker cannot resolve/);
    },
  );
});
