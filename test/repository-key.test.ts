import { describe, expect, it } from '@jest/globals';
import { repositoryKey } from '../common/ids.js';

/** Ways of writing github.com/shop/deployment: spec, HTTPS, SSH, scp-like, with and without .git. */
const SPELLINGS = [
  'github:shop/deployment',
  'https://github.com/shop/deployment',
  'https://github.com/shop/deployment.git',
  'https://github.com/shop/deployment/',
  'https://x-access-token@github.com/shop/deployment.git',
  'http://github.com:443/shop/deployment',
  'ssh://git@github.com/shop/deployment.git',
  'ssh://git@github.com:22/shop/deployment.git',
  'git@github.com:shop/deployment.git',
  'git@github.com:shop/deployment',
  'HTTPS://GitHub.com/shop/deployment',
];

/** The same repository in other cases of owner and name. */
const CASE_SPELLINGS = [
  'github:Shop/Deployment',
  'https://github.com/Shop/Deployment.git',
  'git@github.com:SHOP/deployment.git',
  'ssh://git@GitHub.com/shop/DEPLOYMENT',
];

/**
 * One repository, one key, one lock per environment: every spelling a team may use for the same
 * repository must map to the same key, or two promotions of one environment could deploy at once.
 */
describe('repositoryKey', () => {
  const isShopDeployment = (spelling: string) => {
    expect(repositoryKey(spelling)).toBe('github.com/shop/deployment');
  };

  it.each(SPELLINGS)('%s is github.com/shop/deployment', isShopDeployment);

  it.each(CASE_SPELLINGS)(
    '%s is the same repository: GitHub ignores the case of owner and name',
    isShopDeployment,
  );

  it('keeps the case of paths where the host may not ignore it, and of local paths', () => {
    expect(repositoryKey('https://git.example.com/Shop/Deployment.git')).toBe(
      'git.example.com/Shop/Deployment',
    );
    expect(repositoryKey('/srv/git/Deployment.git')).toBe('/srv/git/Deployment');
    expect(repositoryKey('/srv/git/Deployment.git')).not.toBe(repositoryKey('/srv/git/deployment.git'));
    expect(repositoryKey('file:///srv/git/Deployment.git')).toBe('/srv/git/Deployment');
  });

  it('tells different repositories apart', () => {
    expect(repositoryKey('github:shop/deployment')).not.toBe(repositoryKey('github:shop/deployment-2'));
    expect(repositoryKey('github:shop/deployment')).not.toBe(repositoryKey('github:other/deployment'));
    expect(repositoryKey('github:shop/deployment')).not.toBe(
      repositoryKey('https://git.example.com/shop/deployment'),
    );
  });
});
