import type { Client } from '@temporalio/client';
import { getStatus } from '../../client/promotions.js';
import type { EnvironmentState, PromotionState } from '../../common/types.js';
import { TestRepo } from './repo.js';
import type { TestTemporal, WorkerContext } from './temporal.js';
import { eventually } from './wait.js';

/** The one manual environment the proposal tests promote into. */
export const prodOnly = [{ name: 'prod', approval: 'manual' as const }];

/** A fresh repository with {@link prodOnly} and a worker on `temporal`: `test` runs with both. */
export async function inProdOnlyRepo(
  temporal: TestTemporal,
  test: (repo: TestRepo, worker: WorkerContext) => Promise<void>,
): Promise<void> {
  const repo = await TestRepo.create({ environments: prodOnly });
  await temporal.withWorker((worker) => test(repo, worker));
}

export function prod(state: PromotionState): EnvironmentState {
  const env = state.environments.find((e) => e.name === 'prod');
  if (!env) throw new Error('no prod in the promotion');
  return env;
}

/** Waits until prod asks for approval of a proposal (a rebuilt one: with a reason). */
export function waitingProposal(client: Client, id: string, rebuilt = false): Promise<PromotionState> {
  return eventually(`${id} to wait for approval of a ${rebuilt ? 'rebuilt ' : ''}proposal`, async () => {
    const state = await getStatus(client, id);
    const env = state.environments.find((e) => e.name === 'prod');
    const ready =
      env?.status === 'waiting-approval' && env.proposal?.commit && !!env.proposal.reason === rebuilt;
    return ready ? state : undefined;
  });
}
