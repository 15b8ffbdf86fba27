import { describe, expect, it } from '@jest/globals';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getStatus, waitFinished } from '../client/promotions.js';
import { auditTrail } from '../client/audit.js';
import { sshSignatureVerifier } from '../client/audit-signatures.js';
import type { PromotionState } from '../common/types.js';
import { promoteCli } from './support/cli.js';
import { TestRepo } from './support/repo.js';
import { aliceAllowedMalloryNot } from './support/signers.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';

/** Issue 19 item 6: `promote audit` re-verifies every signed decision offline, trusting nothing recorded. */
const suite = useTemporal();

/** The state with staging's first decision's signed statement rewritten by `change`. */
function tampered(state: PromotionState, change: (statement: string) => string): PromotionState {
  const copy = structuredClone(state);
  const decision = copy.environments.find((e) => e.name === 'staging')?.decisions?.[0];
  if (!decision?.signature) throw new Error('no signed decision');
  decision.signature.statement = change(decision.signature.statement);
  return copy;
}

describe('promote audit', () => {
  it('re-verifies a signed approval against allowed_signers at the proposal base, and fails a tampered one', async () => {
    const repo = await TestRepo.create({
      environments: [
        { name: 'staging', approval: 'manual', approvers: ['alice', 'bob'], signedApprovals: 'required' },
      ],
    });
    const { dir: keys, alice, mallory } = await aliceAllowedMalloryNot(repo);
    try {
      await suite.temporal.withWorker(async ({ taskQueue }) => {
        const cli = (args: string[]) => promoteCli(args, { address: suite.temporal.address, taskQueue });
        const started = await cli(['start', '--repo', repo.url, '--app', 'api=1.5.0', '--json']);
        const { id } = JSON.parse(started.stdout) as { id: string };
        await eventually('staging to wait', async () => {
          const env = (await getStatus(suite.temporal.client, id)).environments[0];
          return env?.status === 'waiting-approval' && env.proposal?.commit ? env : undefined;
        });
        expect(
          await cli(['approve', id, '--env', 'staging', '--as', 'alice', '--sign-key', alice.key]),
        ).toMatchObject({
          code: 0,
        });
        const final = await waitFinished(suite.temporal.client, id);
        expect(final.status).toBe('succeeded');
        // A key added later on the deployment branch changes nothing: the file is read at the base.
        await repo.commitFile(
          '.promote/allowed_signers',
          `mallory ${mallory.pub}\n`,
          'chore: replace the signers',
        );

        const audit = await cli(['audit', id]);
        expect(audit.code).toBe(0);
        expect(audit.stdout).toMatch(
          /approved by alice via ssh-signature at [0-9a-f]{12}.*\[verified: ssh signature of alice verifies against \.promote\/allowed_signers at [0-9a-f]{12}\]/,
        );

        // Against a file the auditor gives: a file without alice's key fails (exit 1).
        const other = join(keys, 'allowed_signers');
        await writeFile(other, `alice ${mallory.pub}\n`);
        const against = await cli(['audit', id, '--allowed-signers', other, '--json']);
        expect(against.code).toBe(1);
        const trail = JSON.parse(against.stdout) as {
          environments: { decisions: { verification: { result: string; detail: string } }[] }[];
        };
        expect(trail.environments[0]?.decisions[0]?.verification).toMatchObject({
          result: 'failed',
          detail: expect.stringMatching(/not signed by a key in/),
        });
        await writeFile(other, `alice ${alice.pub}\n`);
        expect(await cli(['audit', id, '--allowed-signers', other])).toMatchObject({ code: 0 });
        expect(await cli(['audit', id, '--allowed-signers', join(keys, 'missing')])).toMatchObject({
          code: 2,
        });

        // A tampered statement: another time still matches the decision but no longer verifies; another
        // commit no longer matches the decision at all.
        const verifier = sshSignatureVerifier();
        try {
          const retimed = await auditTrail(
            tampered(final, (s) => s.replace(/^time .*$/m, 'time 2026-01-01T00:00:00.000Z')),
            { 'ssh-signature': verifier.verify },
          );
          expect(retimed.environments[0]?.decisions[0]?.verification).toMatchObject({
            result: 'failed',
            detail: expect.stringMatching(/the signature does not verify/),
          });
          const recommitted = await auditTrail(
            tampered(final, (s) => s.replace(/^commit .*$/m, `commit ${'0'.repeat(40)}`)),
            { 'ssh-signature': verifier.verify },
          );
          expect(recommitted.environments[0]?.decisions[0]?.verification).toMatchObject({
            result: 'failed',
            detail: expect.stringMatching(/does not match the decision: it names commit 000000000000/),
          });
          const untouched = await auditTrail(final, { 'ssh-signature': verifier.verify });
          expect(untouched.environments[0]?.decisions[0]?.verification.result).toBe('verified');
        } finally {
          await verifier.close();
        }
      });
    } finally {
      await rm(keys, { recursive: true, force: true });
    }
  });
});
