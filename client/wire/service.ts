/**
 * The WorkflowService RPCs the CLI's light path calls (client/wire/light-client.ts): descriptor.ts holds
 * their messages only. Everything else of Temporal's API stays with the SDK client, which a command
 * loads when it needs more.
 */
export const LIGHT_METHODS = [
  'ExecuteMultiOperation',
  'UpdateWorkflowExecution',
  'PollWorkflowExecutionUpdate',
  'QueryWorkflow',
] as const;

export const SERVICE = 'temporal.api.workflowservice.v1.WorkflowService';
