import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { TestRepo } from './repo.js';

/** A signer's key pair: the private key's path and the public key line (for allowed_signers). */
export interface SignerKey {
  key: string;
  pub: string;
}

/** An ed25519 key pair made with ssh-keygen; returns the private key path and the public key line. */
export async function newKey(dir: string, name: string): Promise<SignerKey> {
  const key = join(dir, name);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key]);
  return { key, pub: (await readFile(`${key}.pub`, 'utf8')).trim() };
}

/**
 * The signers of the signed-approval tests: alice, whose key `repo`'s `.promote/allowed_signers` lists
 * (committed on the deployment branch), and mallory, whose key nobody allowed. The keys live in `dir`,
 * which the caller removes.
 */
export async function aliceAllowedMalloryNot(
  repo: TestRepo,
): Promise<{ dir: string; alice: SignerKey; mallory: SignerKey }> {
  const dir = await mkdtemp(join(tmpdir(), 'promote-keys-'));
  const alice = await newKey(dir, 'alice');
  const mallory = await newKey(dir, 'mallory');
  await repo.commitFile('.promote/allowed_signers', `alice ${alice.pub}\n`, 'chore: who may sign approvals');
  return { dir, alice, mallory };
}
