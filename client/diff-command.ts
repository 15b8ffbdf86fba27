import type { Command } from 'commander';
import type { EnvironmentState, PromotionState } from '../common/types.js';
import { diffLines, wantsColor } from './diff-view.js';
import { BadInputError } from '../common/errors.js';

/** `promote diff ID [--env E] [--json]`: one environment's deploy diff, whole and alone. */
export function addDiffCommand(program: Command): void {
  program
    .command('diff')
    .description("print an environment's deploy diff (default: the one waiting for approval)")
    .argument('<id>', 'promotion id')
    .option('--env <env>', 'environment whose diff to print')
    .option('--json', 'machine-readable output')
    .action(async (id: string, options: { env?: string; json?: boolean }) => {
      // Loaded here, not at the top: `promote --help` must not pay for the Temporal client.
      const { connectForCli: connectClient } = await import('./errors.js');
      const { getStatus } = await import('./promotions.js');
      const client = await connectClient();
      const state = await getStatus(client, id);
      const env = environmentWithDiff(state, options.env);
      const diff = env.diff ?? '';
      const text = options.json
        ? JSON.stringify({ id, env: env.name, status: env.status, commit: env.commit ?? null, diff }, null, 2)
        : diffLines(diff, wantsColor()).join('\n');
      process.stdout.write(`${text}\n`);
    });
}

/**
 * The environment `promote diff` shows: the one named, else the one waiting for approval, else the
 * last one that has a diff.
 */
export function environmentWithDiff(state: PromotionState, env?: string): EnvironmentState {
  const names = state.environments.map((e) => e.name);
  if (env !== undefined) {
    const named = state.environments.find((e) => e.name === env);
    if (!named) {
      throw new BadInputError(
        `unknown environment "${env}"${names.length > 0 ? ` (${state.id} goes through: ${names.join(', ')})` : ''}`,
      );
    }
    if (named.diff === undefined) {
      throw new BadInputError(`${env} of ${state.id} has no diff (it is ${named.status})`);
    }
    return named;
  }
  const chosen =
    state.environments.find((e) => e.status === 'waiting-approval' && e.diff !== undefined) ??
    [...state.environments].reverse().find((e) => e.diff !== undefined);
  if (!chosen) {
    throw new BadInputError(
      `no environment of ${state.id} has a diff yet${state.error ? ` (${state.error.split('\n')[0]})` : ''}`,
    );
  }
  return chosen;
}
