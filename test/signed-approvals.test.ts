import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { decide, getStatus, waitFinished } from '../client/promotions.js';
import { statementText, type ApprovalStatement } from '../common/approval-statement.js';
import type { EnvironmentState, PromotionState } from '../common/types.js';
import { promoteCli } from './support/cli.js';
import { TestRepo } from './support/repo.js';
import { aliceAllowedMalloryNot } from './support/signers.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';
import { startTagPromotion } from './support/requests.js';

const suite = useTemporal();

function env(state: PromotionState, name: string): EnvironmentState {
  const found = state.environments.find((e) => e.name === name);
  if (!found) throw new Error(`no ${name} in the promotion`);
  return found;
}

function waitingIn(id: string, name: string): Promise<PromotionState> {
  return eventually(`${id} to wait for approval in ${name}`, async () => {
    const state = await getStatus(suite.temporal.client, id);
    const current = state.environments.find((e) => e.name === name);
    return current?.status === 'waiting-approval' && current.proposal?.commit ? state : undefined;
  });
}

/** Signs any statement as `ssh-keygen -Y sign -n promote` would for the CLI: the attacker's view. */
async function sign(
  key: string,
  statement: ApprovalStatement,
): Promise<{ statement: string; signature: string }> {
  const text = statementText(statement);
  const { stdout } = await execa('ssh-keygen', ['-Y', 'sign', '-f', key, '-n', 'promote'], { input: text });
  return { statement: text, signature: `${stdout}\n` };
}

/** Pushes a commit to a branch other than main (here: the proposal branch), as anyone with push access could. */
async function pushToBranch(repo: TestRepo, branch: string, path: string, text: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'promote-branch-'));
  try {
    await execa('git', ['clone', '--quiet', '--branch', branch, repo.url, work]);
    await writeFile(join(work, path), text);
    await execa('git', ['add', '--', path], { cwd: work });
    await execa(
      'git',
      ['-c', 'user.name=M', '-c', 'user.email=m@example.com', 'commit', '--quiet', '-m', 'add me'],
      {
        cwd: work,
      },
    );
    await execa('git', ['push', '--quiet', 'origin', `HEAD:${branch}`], { cwd: work });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

describe('signed approvals (signedApprovals: required)', () => {
  it('accepts a decision signed by a key in allowed_signers on the deployment branch and refuses every other', async () => {
    const repo = await TestRepo.create({
      environments: [
        { name: 'staging', approval: 'manual', approvers: ['alice', 'bob'], signedApprovals: 'required' },
        { name: 'prod', approval: 'manual', signedApprovals: 'required' },
      ],
      apps: { api: '1.4.0', web: '2.0.3' },
    });
    const { dir: keys, alice, mallory } = await aliceAllowedMalloryNot(repo);
    try {
      await suite.temporal.withWorker(async ({ taskQueue }) => {
        const client = suite.temporal.client;
        const cli = (args: string[]) => promoteCli(args, { address: suite.temporal.address, taskQueue });
        const start = (app: string, tag: string) =>
          startTagPromotion(client, taskQueue, repo, { app, tag, requestedBy: 'ci' });
        const a = (await start('api', '1.5.0')).workflowId;
        const b = (await start('web', '2.1.0')).workflowId;
        const aState = await waitingIn(a, 'staging');
        const bState = await waitingIn(b, 'staging');
        const aCommit = env(aState, 'staging').commit ?? '';
        const aBase = env(aState, 'staging').proposal?.base ?? '';
        const aRun = (await client.workflow.getHandle(a).describe()).runId;
        const fields = {
          promotion: a,
          run: aRun,
          env: 'staging',
          commit: aCommit,
          decision: 'approve' as const,
          time: new Date().toISOString(),
        };
        const refused = (signed: { statement: string; signature: string }, to = a, commit = aCommit) =>
          decide(client, to, { env: 'staging', approved: true, by: 'alice', commit, signed });

        // Unsigned: refused, even naming an approver, even by a client with full access to Temporal.
        const unsigned = await cli(['approve', a, '--env', 'staging', '--as', 'alice']);
        expect(unsigned.code).toBe(2);
        expect(unsigned.stderr).toMatch(/staging requires signed approvals/);
        await expect(
          decide(client, a, { env: 'staging', approved: true, by: 'alice', commit: aCommit }),
        ).rejects.toThrow(/requires signed approvals/);

        // Signed by a key nobody listed.
        const unknown = await cli([
          'approve',
          a,
          '--env',
          'staging',
          '--as',
          'alice',
          '--sign-key',
          mallory.key,
        ]);
        expect(unknown.code).toBe(2);
        expect(unknown.stderr).toMatch(/not signed by a key in \.promote\/allowed_signers/);

        // A good signature replayed onto another promotion, environment, commit, or too late.
        const good = await sign(alice.key, fields);
        await expect(refused(good, b, env(bState, 'staging').commit)).rejects.toThrow(
          new RegExp(`signed statement is for promotion ${a}, not ${b}`),
        );
        await expect(refused(await sign(alice.key, { ...fields, env: 'prod' }))).rejects.toThrow(
          /signed statement is for prod, not staging/,
        );
        await expect(refused(await sign(alice.key, { ...fields, commit: aBase }))).rejects.toThrow(
          /signed statement names commit .* but staging proposes/,
        );
        await expect(refused(await sign(alice.key, { ...fields, run: 'another-run' }))).rejects.toThrow(
          /signed statement is for run another-run/,
        );
        const late = new Date(Date.now() - 20 * 60_000).toISOString();
        await expect(refused(await sign(alice.key, { ...fields, time: late }))).rejects.toThrow(/expired/);
        // A signature over other bytes than the statement sent.
        await expect(
          refused({
            statement: statementText({ ...fields, time: new Date().toISOString() }),
            signature: good.signature,
          }),
        ).rejects.toThrow(/signature does not verify/);

        // Mallory adds her key on the proposal branch: allowed_signers is read at the proposal's base.
        const branch = env(aState, 'staging').proposal?.branch ?? '';
        await pushToBranch(
          repo,
          branch,
          '.promote/allowed_signers',
          `alice ${alice.pub}\nmallory ${mallory.pub}\n`,
        );
        expect(await repo.file('.promote/allowed_signers', branch)).toContain('mallory');
        await expect(refused(await sign(mallory.key, fields))).rejects.toThrow(/not signed by a key/);
        expect(env(await getStatus(client, a), 'staging')).toMatchObject({ status: 'waiting-approval' });
        expect(env(await getStatus(client, a), 'staging').decision).toBeUndefined();

        // Alice signs: accepted, and the approver is the key's principal, whatever name was sent.
        const approved = await cli([
          'approve',
          a,
          '--env',
          'staging',
          '--as',
          'mallory',
          '--sign-key',
          alice.key,
        ]);
        expect(approved).toMatchObject({ code: 0 });
        expect(approved.stdout).toContain('staging approved by alice (ssh-signature)');
        const decided = env(await getStatus(client, a), 'staging').decision;
        expect(decided).toMatchObject({
          approved: true,
          by: 'alice',
          principal: 'alice',
          via: 'ssh-signature',
        });
        expect(decided?.signature?.statement).toContain(`commit ${aCommit}`);

        // The same statement again: the environment is decided already.
        await expect(refused(good)).rejects.toThrow(/already approved|not waiting/);

        // A signed rejection in prod.
        await waitingIn(a, 'prod');
        const rejected = await cli([
          'reject',
          a,
          '--env',
          'prod',
          '--reason',
          'not today',
          '--sign-key',
          alice.key,
        ]);
        expect(rejected).toMatchObject({ code: 0 });
        const final = await waitFinished(client, a);
        expect(final.status).toBe('rejected');
        expect(env(final, 'prod').decision).toMatchObject({
          approved: false,
          by: 'alice',
          via: 'ssh-signature',
        });
        await client.workflow.getHandle(b).cancel();
      });
    } finally {
      await rm(keys, { recursive: true, force: true });
    }
  });
});
