import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { EMPTY_RULES, GOVERNANCE_WORKFLOW_ID, type GovernanceRules } from '../common/governance.js';
import { rulesQuery } from '../workflows/governance-definitions.js';

/**
 * A promotion's view of the governance workflow (issue 22): read before each environment and right
 * before each apply, so a block signal it missed (visibility lags, a promotion started meanwhile)
 * still stops it. No governance workflow running means no rules.
 */
export async function readGovernanceRules(client: Client): Promise<GovernanceRules> {
  const handle = client.workflow.getHandle(GOVERNANCE_WORKFLOW_ID);
  try {
    // A closed one (terminated by hand) holds no rules any more: the next block or freeze starts anew.
    if ((await handle.describe()).status.name !== 'RUNNING') return EMPTY_RULES;
    return await handle.query(rulesQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return EMPTY_RULES;
    throw error;
  }
}

export function createGovernanceActivities(deps: { client: Client }) {
  return {
    async governanceRules(): Promise<GovernanceRules> {
      return readGovernanceRules(deps.client);
    },
  };
}
