import { execa } from 'execa';
import { temporalCli, type TestTemporal } from './temporal.js';
import { eventually } from './wait.js';

export type ResetType = 'FirstWorkflowTask' | 'LastWorkflowTask';

/** `temporal workflow reset` as an operator types it: workflow `id` of the server at `address`, to `type`. */
export async function temporalReset(
  cli: string,
  reset: { address: string; id: string; type: ResetType; reason: string },
  options: { cwd: string; timeout?: number },
): Promise<void> {
  await execa(
    cli,
    [
      'workflow',
      'reset',
      '--address',
      reset.address,
      '--namespace',
      'default',
      '--workflow-id',
      reset.id,
      '--type',
      reset.type,
      '--reason',
      reset.reason,
    ],
    options,
  );
}

/** A real reset with the project's own `temporal` CLI; resolves with the new run's id once it runs. */
export async function resetWorkflow(temporal: TestTemporal, id: string, type: ResetType): Promise<string> {
  const before = await temporal.client.workflow.getHandle(id).describe();
  await temporalReset(
    temporalCli(),
    { address: temporal.address, id, type, reason: 'test: operator reset' },
    { cwd: process.cwd() },
  );
  return eventually(`a new run of ${id}`, async () => {
    const now = await temporal.client.workflow.getHandle(id).describe();
    return now.runId !== before.runId && now.status.name === 'RUNNING' ? now.runId : undefined;
  });
}
