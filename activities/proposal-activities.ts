import { log } from '@temporalio/activity';
import { repositoryKey } from '../common/ids.js';
import { PromoteEnv } from '../common/search-attributes.js';
import { statusQuery, supersededSignal } from '../common/definitions.js';
import type { ActivityDeps } from './deps.js';
import { listedForAnotherRepository, withoutVisibilityTolerated } from './visibility.js';
import {
  dropProposal,
  landProposal,
  mergedProposal,
  proposeBump,
  publishProposal,
  type DropInput,
  type LandInput,
  type LandResult,
  type ProposeInput,
  type ProposeResult,
  type PublishInput,
} from './proposal.js';
import type { PromotionCommitKey } from './bump.js';
import { rethrowAsBadInput } from './bad-input.js';

export type { DropInput, LandInput, LandResult, ProposeInput, ProposeResult, PublishInput };

export interface SupersedeInput {
  repo: string;
  env: string;
  apps: string[];
  /** The newer promotion. */
  by: string;
  byStartedAt: string;
}

/** The activities of a manual environment's proposal: made, published, landed or dropped. */
export function createProposalActivities(
  deps: ActivityDeps,
  heartbeating: <T>(work: () => Promise<T>) => Promise<T>,
) {
  return {
    async proposeBump(input: ProposeInput): Promise<ProposeResult> {
      return heartbeating(() => proposeBump(deps.cache, input).catch(rethrowAsBadInput));
    },

    async publishProposal(input: PublishInput): Promise<{ url?: string; pullRequest?: number }> {
      return heartbeating(() => publishProposal(deps.cache, input));
    },

    async landProposal(input: LandInput): Promise<LandResult> {
      return heartbeating(() => landProposal(deps.cache, input).catch(rethrowAsBadInput));
    },

    /** The bump of a proposal merged outside Promote, still on the deployment branch; undefined if none. */
    async mergedProposal(input: PromotionCommitKey): Promise<{ commit?: string }> {
      return heartbeating(async () => {
        const commit = await mergedProposal(deps.cache, input).catch(rethrowAsBadInput);
        return commit ? { commit } : {};
      });
    },

    async dropProposal(input: DropInput): Promise<void> {
      return heartbeating(() => dropProposal(deps.cache, input));
    },

    /**
     * A newer promotion replaces older ones still waiting for approval in the environment whose apps
     * it covers: they hold no lock, so they are found through visibility and told directly.
     */
    async supersedeProposals(input: SupersedeInput): Promise<string[]> {
      if (!/^[a-z0-9-]+$/.test(input.env)) return [];
      const key = repositoryKey(input.repo);
      const query = `WorkflowType = 'promote' AND ExecutionStatus = 'Running' AND ${PromoteEnv.name} = '${input.env}'`;
      const told: string[] = [];
      for await (const execution of withoutVisibilityTolerated(deps.client.workflow.list({ query }))) {
        if (execution.workflowId === input.by || listedForAnotherRepository(execution, key)) continue;
        const handle = deps.client.workflow.getHandle(execution.workflowId, execution.runId);
        const state = await handle.query(statusQuery).catch(() => undefined);
        const env = state?.environments.find((e) => e.name === input.env);
        if (!state || !env?.proposal || repositoryKey(state.repo) !== key) continue;
        if (!['proposing', 'proposed'].includes(env.proposal.phase) || env.decision) continue;
        if (state.startedAt > input.byStartedAt) continue;
        if (!state.apps.every((a) => input.apps.includes(a.app))) continue;
        await handle.signal(supersededSignal, { env: input.env, by: input.by });
        log.info('superseded a waiting proposal', { older: execution.workflowId, env: input.env });
        told.push(execution.workflowId);
      }
      return told;
    },
  };
}
