import { afterEach, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { git } from '../activities/git.js';
import { setScalars } from '../activities/formats/yaml-values.js';
import {
  GitHubAccessError,
  GitHubConflictError,
  GitHubError,
  GitHubRepository,
  ProposalChangedError,
  type GitHubAuth,
} from '../activities/providers/github.js';
import { GitHubStandIn } from './support/github-standin.js';
import { TestRepo } from './support/repo.js';

const TOKEN = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';
const READ_ONLY = 'ghp_readonly0123456789abcdefghijABCDEFG';

let repo: TestRepo;
let github: GitHubStandIn;
afterEach(async () => {
  await github?.stop();
  await repo?.remove();
});

async function setUp(): Promise<void> {
  repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
  github = await GitHubStandIn.start({ repoPath: repo.url, token: TOKEN, readOnlyToken: READ_ONLY });
}

function client(auth: GitHubAuth = { token: TOKEN }, repoName = 'deployment'): GitHubRepository {
  return new GitHubRepository({ owner: 'shop', repo: repoName, baseUrl: github.baseUrl }, auth, {
    author: { name: 'Promote Bot', email: 'promote@shop.example' },
    paceWrites: false,
    retryAfterUnitMs: 10,
  });
}

const bumpTo = (tag: string) => ({
  branch: 'main',
  path: 'environments/dev.yaml',
  message: `feat(dev): update api to ${tag}\n\nPromote-Id: promote-gh\nPromote-Env: dev\nPromote-Action: bump\n`,
  edit: (source: string) =>
    setScalars(source, [{ path: 'api.image.tag', value: tag }], 'environments/dev.yaml'),
});

/** A branch off main bumping api to `tag`, and its pull request (title and body beside the point). */
async function openProposal(provider: GitHubRepository, branch: string, tag: string) {
  await provider.createBranch(branch, await provider.head('main'));
  const proposal = await provider.commitFileEdit({ ...bumpTo(tag), branch });
  const pull = await provider.openPullRequest({ head: branch, base: 'main', title: 't', body: 'b' });
  return { proposal, pull };
}

describe('the GitHub provider through octokit, against a stand-in with GitHub semantics', () => {
  it('commits an edit with the Git Data API: one atomic commit, only the promoted line changed', async () => {
    await setUp();
    const provider = client();
    const head = await provider.head('HEAD');
    expect(head).toBe((await repo.commits())[0]?.hash);
    expect(await provider.readFile(head, 'promote.yaml')).toContain('environments:');
    expect(await provider.readFile(head, 'no/such/file.yaml')).toBeUndefined();

    const result = await provider.commitFileEdit(bumpTo('1.5.0'));
    expect(result.changes).toEqual([{ path: 'api.image.tag', before: '1.4.0', after: '1.5.0' }]);
    const [commit] = await repo.commits();
    expect(commit).toMatchObject({ hash: result.commit, subject: 'feat(dev): update api to 1.5.0' });
    expect(await repo.diff(result.commit)).toContain('-    tag: "1.4.0"\n+    tag: "1.5.0"');
    expect((await git(['log', '-1', '--format=%an <%ae>', 'main'], { cwd: repo.url })).trim()).toBe(
      'Promote Bot <promote@shop.example>',
    );
    // The same edit again changes nothing and makes no commit.
    expect((await provider.commitFileEdit(bumpTo('1.5.0'))).changes).toEqual([]);
    expect((await provider.commits('main', { path: 'environments/dev.yaml' }))[0]?.sha).toBe(result.commit);
  });

  it('a ref update that is not a fast-forward (422) re-reads and re-applies the edit, keeping the other commit', async () => {
    await setUp();
    const values = await repo.file('environments/dev.yaml');
    let raced = false;
    github.beforeRefUpdate = async () => {
      if (raced) return;
      raced = true;
      await repo.commitFile(
        'environments/dev.yaml',
        values.replace('replicas: 1', 'replicas: 4'),
        'chore: scale api',
      );
    };
    const result = await client().commitFileEdit(bumpTo('1.5.0'));
    const [ours, theirs] = await repo.commits();
    expect(ours?.hash).toBe(result.commit);
    expect(theirs?.subject).toBe('chore: scale api');
    const after = await repo.file('environments/dev.yaml');
    expect(after).toContain('tag: "1.5.0"');
    expect(after).toContain('replicas: 4');
    expect(github.requests.filter((r) => r.method === 'PATCH')).toHaveLength(2);
  });

  it('gives up clearly after a bounded number of attempts when the branch keeps moving', async () => {
    await setUp();
    let races = 0;
    github.beforeRefUpdate = async () => {
      races++;
      await repo.commitFile('notes.txt', `race ${races}\n`, `chore: race ${races}`);
    };
    await expect(client().commitFileEdit(bumpTo('1.5.0'))).rejects.toThrow(GitHubConflictError);
    expect(races).toBe(5);
    expect((await repo.commits()).filter((c) => c.subject.startsWith('feat('))).toEqual([]);
  });

  it('concurrent writers through the API never lose a commit', async () => {
    await setUp();
    const apps = ['dev', 'dev', 'dev'].map((_, i) => `${i}`);
    const results = await Promise.all(
      apps.map((i) =>
        client().commitFileEdit({
          branch: 'main',
          path: 'environments/dev.yaml',
          message: `feat(dev): writer ${i}\n`,
          edit: (source) =>
            setScalars(
              source,
              [{ path: `writers.w${i}`, value: `v${i}`, create: true }],
              'environments/dev.yaml',
            ),
        }),
      ),
    );
    const hashes = new Set((await repo.commits()).map((c) => c.hash));
    for (const result of results) expect(hashes.has(result.commit)).toBe(true);
    const after = await repo.file('environments/dev.yaml');
    for (const i of apps) expect(after).toContain(`w${i}: v${i}`);
  });

  it('401, 403 and 404 are typed errors whose messages carry no token', async () => {
    await setUp();
    const bad = client({ token: 'ghp_wrongwrongwrongwrongwrongwrongwrong1' });
    const unauthorized = bad.head('main');
    await expect(unauthorized).rejects.toThrow(GitHubAccessError);
    await expect(unauthorized).rejects.toThrow(/\(401\): Bad credentials/);

    const readOnly = client({ token: READ_ONLY });
    const forbidden = readOnly.commitFileEdit(bumpTo('1.5.0'));
    await expect(forbidden).rejects.toThrow(GitHubAccessError);
    await expect(forbidden).rejects.toThrow(/\(403\): Resource not accessible by integration/);
    await forbidden.catch((error: Error) => {
      expect(error.message).not.toContain(READ_ONLY);
      expect(JSON.stringify(error)).not.toContain(READ_ONLY);
    });

    const missing = client({ token: TOKEN }, 'nope').head('main');
    await expect(missing).rejects.toThrow(GitHubError);
    await expect(missing).rejects.toMatchObject({ status: 404 });
    expect((await repo.commits()).filter((c) => c.subject.startsWith('feat('))).toEqual([]);
  });

  it('waits out secondary rate limits as retry-after says, a bounded number of times', async () => {
    await setUp();
    const limited = {
      method: 'GET',
      path: /\/git\/ref\/heads\/main$/,
      status: 403,
      headers: { 'retry-after': '1' },
      body: {
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      },
    };
    github.failNext(limited);
    github.failNext(limited);
    expect(await client().head('main')).toBe((await repo.commits())[0]?.hash);
    expect(github.requests.filter((r) => r.path.endsWith('/git/ref/heads/main'))).toHaveLength(3);

    for (let i = 0; i < 5; i++) github.failNext(limited);
    await expect(client().head('main')).rejects.toThrow(/secondary rate limit/);
  });

  it('authenticates as a GitHub App installation', async () => {
    await setUp();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    github.installApp('4242', '99', publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const app = client({
      appId: '4242',
      installationId: '99',
      privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    });
    const result = await app.commitFileEdit(bumpTo('1.5.0'));
    expect((await repo.commits())[0]?.hash).toBe(result.commit);
    expect(github.requests.some((r) => r.path === '/app/installations/99/access_tokens')).toBe(true);
    expect(github.requests.at(-1)?.authorization).toBe(`token ${TOKEN}`);
  });
});

describe('pull requests for proposals (provider methods)', () => {
  it('opens a pull request from a proposal branch and merges it at the approved head', async () => {
    await setUp();
    const provider = client();
    const base = await provider.head('main');
    await provider.createBranch('promote/dev/promote-gh', base);
    const proposal = await provider.commitFileEdit({ ...bumpTo('1.5.0'), branch: 'promote/dev/promote-gh' });
    const pull = await provider.openPullRequest({
      head: 'promote/dev/promote-gh',
      base: 'main',
      title: 'feat(dev): update api to 1.5.0',
      body: 'api.image.tag: 1.4.0 → 1.5.0',
    });
    expect(pull).toMatchObject({ number: 1, headSha: proposal.commit });
    // GitHub's default merge method: a merge commit whose second parent is the approved head.
    const merge = await provider.mergePullRequest(pull.number, proposal.commit);
    const [landed] = await repo.commits();
    expect(landed?.hash).toBe(merge);
    expect(landed?.subject).toBe('Merge pull request #1 from shop/promote/dev/promote-gh');
    // By parents, not log order: the merge and the proposal may share a commit second.
    const parents = (await git(['rev-list', '--parents', '-n1', merge], { cwd: repo.url })).trim().split(' ');
    expect(parents.slice(1)).toEqual([base, proposal.commit]);
    expect(github.pulls.get(1)).toMatchObject({ merged: true, state: 'closed', mergeCommit: merge });
  });

  it('refuses to merge a pull request that conflicts with its base (405)', async () => {
    await setUp();
    const provider = client();
    const { proposal, pull } = await openProposal(provider, 'promote/dev/p3', '1.5.0');
    await provider.commitFileEdit({ ...bumpTo('1.4.9'), branch: 'main' });
    await expect(provider.mergePullRequest(pull.number, proposal.commit)).rejects.toMatchObject({
      status: 405,
    });
    expect(github.pulls.get(1)).toMatchObject({ merged: false, state: 'open' });
  });

  it('refuses to merge when the head moved after approval (409), and closes with a reason', async () => {
    await setUp();
    const provider = client();
    const { proposal: approved, pull } = await openProposal(provider, 'promote/dev/p2', '1.5.0');
    await provider.commitFileEdit({ ...bumpTo('1.6.0'), branch: 'promote/dev/p2' });

    await expect(provider.mergePullRequest(pull.number, approved.commit)).rejects.toThrow(
      ProposalChangedError,
    );
    expect((await repo.commits()).filter((c) => c.subject.startsWith('feat('))).toEqual([]);

    await provider.closePullRequest(pull.number, 'rejected by alice: not during the freeze');
    expect(github.pulls.get(pull.number)).toMatchObject({
      state: 'closed',
      merged: false,
      comments: ['rejected by alice: not during the freeze'],
    });
    await provider.deleteBranch('promote/dev/p2');
    await expect(provider.head('promote/dev/p2')).rejects.toMatchObject({ status: 404 });
  });
});
