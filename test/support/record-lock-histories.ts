// Histories of the environment lock's patched paths ('lock-remembers-released-runs',
// 'lock-holder-reasserts', 'lock-adopts-reasserting-holder'), recorded from the code that takes them,
// under new names beside the older histories. Each runs only when its file is missing.
import { waitForApproval } from '../../client/promotions.js';
import { environmentLockId, repositoryKey } from '../../common/ids.js';
import { lockRequestSignal } from '../../common/definitions.js';
import { approveToEnd, lockRebuiltByHolder, type Recorder } from './record-scenario.js';
import { envStatus } from './wait.js';
import { startTagPromotion } from './requests.js';

export async function recordLockHistories({ client, save, scenario }: Recorder): Promise<void> {
  // A late copy of a released run's request reaches the dev lock: it is ignored, the next one passes.
  await scenario(
    ['environment-lock-late-request'],
    {
      environments: [
        { name: 'dev', approval: 'auto' },
        { name: 'staging', approval: 'manual' },
      ],
    },
    async (repo, taskQueue) => {
      const start = (app: string, tag: string) => startTagPromotion(client, taskQueue, repo, { app, tag });
      const first = await start('api', '1.5.0');
      await waitForApproval(client, first.workflowId, 'staging');
      const devLock = environmentLockId(repositoryKey(repo.url), 'dev');
      await client.workflow.getHandle(devLock).signal(lockRequestSignal, {
        holder: first.workflowId,
        run: first.firstExecutionRunId,
        apps: ['api'],
        branch: 'main',
        valuesFile: 'environments/dev.yaml',
      });
      const next = await start('web', '2.1.0');
      await envStatus(client, next.workflowId, 'staging', 'queued');
      for (const id of [first.workflowId, next.workflowId]) await approveToEnd(client, id, 'staging');
      await save(client, 'environment-lock-late-request', devLock);
    },
  );

  // The lock terminated while its holder waits for approval and nobody else asks: the holder's own
  // re-assert rebuilds it. Saved: the promotion (re-asserting while holding) and the rebuilt lock.
  await scenario(
    ['promote-holder-reasserts', 'environment-lock-adopts-holder'],
    { environments: [{ name: 'staging', approval: 'manual' }] },
    async (repo, taskQueue) => {
      const holder = await startTagPromotion(client, taskQueue, repo);
      await waitForApproval(client, holder.workflowId, 'staging');
      const { lockId, rebuilt } = await lockRebuiltByHolder(client, repo, 'staging');
      await approveToEnd(client, holder.workflowId, 'staging');
      await save(client, 'promote-holder-reasserts', holder.workflowId);
      await save(client, 'environment-lock-adopts-holder', lockId, rebuilt);
    },
  );
}
