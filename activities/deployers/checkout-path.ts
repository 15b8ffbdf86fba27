import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../../common/failures.js';

/**
 * A path promote.yaml names (a values file, a chart folder, a helmfile) as the deployer passes it on:
 * inside the checkout, also once symlinks are followed, and never a flag. The schema already refuses
 * absolute paths, `..` and a leading `-`; this is the check at the door of the command, where a
 * symlink committed to the repository can still point elsewhere. A refusal is permanent: the same
 * commit fails the same way on every attempt.
 */
export function checkoutPath(checkout: string, path: string): string {
  const refuse = (why: string) =>
    ApplicationFailure.create({
      message: `promote.yaml names ${JSON.stringify(path)}, which ${why}`,
      type: FailureType.InvalidConfig,
      nonRetryable: true,
    });
  if (path.startsWith('-')) throw refuse('would be read as a flag');
  if (isAbsolute(path) || path.includes('\0')) throw refuse('is outside the checkout');
  const joined = join(checkout, path);
  const root = realpathSync(checkout);
  if (!inside(root, join(root, path))) throw refuse('is outside the checkout');
  // Follow symlinks as far as the path exists: a link to /etc, or to a file above the checkout.
  let existing = joined;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  if (!inside(root, realpathSync(existing))) throw refuse('is outside the checkout (through a symlink)');
  return joined;
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}
