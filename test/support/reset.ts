import { execa } from 'execa';
import { temporalCli, type TestTemporal } from './temporal.js';
import { eventually } from './wait.js';

/** A real reset with the project's own `temporal` CLI; resolves with the new run's id once it runs. */
export async function resetWorkflow(
  temporal: TestTemporal,
  id: string,
  type: 'FirstWorkflowTask' | 'LastWorkflowTask',
): Promise<string> {
  const before = await temporal.client.workflow.getHandle(id).describe();
  await execa(
    temporalCli(),
    [
      'workflow',
      'reset',
      '--address',
      temporal.address,
      '--namespace',
      'default',
      '--workflow-id',
      id,
      '--type',
      type,
      '--reason',
      'test: operator reset',
    ],
    { cwd: process.cwd() },
  );
  return eventually(`a new run of ${id}`, async () => {
    const now = await temporal.client.workflow.getHandle(id).describe();
    return now.runId !== before.runId && now.status.name === 'RUNNING' ? now.runId : undefined;
  });
}
