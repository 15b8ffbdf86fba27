// `npm run demo`: a real promotion on an embedded Temporal server, from a fresh clone.
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { git } from '../activities/git.js';
import { LogNotifier, announcementText, type Announcement } from '../activities/notifier.js';
import { decide, startPromotion, waitAccepted, waitFinished, waitForApproval } from '../client/promotions.js';
import { renderStatus } from '../client/render.js';
import { STATE_DIR_NAME } from '../common/constants.js';
import { startDevServer } from '../server/dev-server.js';
import { freePort } from '../server/ports.js';
import { PROJECT_ROOT } from '../server/tools.js';
import { NativeConnection } from '@temporalio/worker';
import { createPromoteWorker } from '../worker/create-worker.js';
import { startLocalCluster, type LocalCluster } from '../server/local-cluster.js';
import { createHelmSampleRepo } from './helm-sample-repo.js';
import { createSampleRepo, DEFAULT_APPS, DEFAULT_ENVIRONMENTS, seedSimulatedCluster } from './sample-repo.js';

const keep = process.argv.includes('--keep');
/** --cluster: a real API server and helm instead of the simulated cluster. */
const withCluster = process.argv.includes('--cluster');
const say = (message: string) => process.stdout.write(`\n▶ ${message}\n`);

const demoDir = join(PROJECT_ROOT, STATE_DIR_NAME, 'demo');
const repo = join(demoDir, 'deployment.git');
// scripts/deploy.sh of the sample repository names this folder, so any worker finds it.
const cluster = join(demoDir, 'cluster');

Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
say(`Creating a sample deployment repository at ${relative(process.cwd(), repo)}`);
// Every run starts from nothing: a fresh repository, cluster and Temporal database.
await rm(demoDir, { recursive: true, force: true });
let kube: LocalCluster | undefined;
if (withCluster) {
  say('Starting a local Kubernetes API server (etcd + kube-apiserver; the first run builds them: minutes)');
  kube = await startLocalCluster({
    dir: join(demoDir, 'kube'),
    log: (m) => process.stdout.write(`  ${m}\n`),
  });
  process.stdout.write(`  KUBECONFIG=${kube.kubeconfig}\n`);
  await createHelmSampleRepo({
    dir: repo,
    environments: DEFAULT_ENVIRONMENTS,
    apps: DEFAULT_APPS,
    type: 'helm',
  });
} else {
  await createSampleRepo({ dir: repo, cluster });
  await seedSimulatedCluster(repo, cluster);
}

const port = await freePort(7233);
const uiPort = await freePort(port === 7233 ? 8233 : undefined);
say(`Starting the embedded Temporal dev server on 127.0.0.1:${port}`);
const server = await startDevServer({ port, uiPort, dbFile: join(demoDir, 'temporal.db') });

const workerConnection = await NativeConnection.connect({ address: server.address });
const client = new Client({ connection: await Connection.connect({ address: server.address }) });
const worker = await createPromoteWorker({
  connection: workerConnection,
  client,
  namespace: 'default',
  cacheDir: join(demoDir, 'worker-cache'),
  ...(kube ? { deployEnv: kube.env } : {}),
  notifier: new LogNotifier((line) => {
    const announcement = JSON.parse(line) as Announcement;
    process.stdout.write(`  📣 ${announcementText(announcement)}\n`);
  }),
});
const workerRun = worker.run();

let exitCode = 0;
try {
  say('Promoting api=1.5.0 and web=2.1.0 through dev → staging → prod');
  const handle = await startPromotion(client, {
    repo,
    apps: [
      { app: 'api', tag: '1.5.0', source: { repo: 'https://git.example.com/shop/api', ref: '9f3e2c1' } },
      { app: 'web', tag: '2.1.0', source: { repo: 'https://git.example.com/shop/web', ref: '4d8a7b0' } },
    ],
    requestedBy: 'ci',
  });
  await waitAccepted(client, handle.workflowId);
  process.stdout.write(`  promotion id: ${handle.workflowId}\n`);

  for (const [env, approver] of [
    ['staging', 'carol'],
    ['prod', 'alice'],
  ] as const) {
    const state = await waitForApproval(client, handle.workflowId, env);
    const waiting = state.environments.find((e) => e.name === env);
    if (waiting?.status !== 'waiting-approval') break;
    process.stdout.write(`  diff for ${env}:\n${(waiting.diff ?? '').replace(/^/gm, '    ')}\n`);
    await decide(client, handle.workflowId, { env, approved: true, by: approver, comment: 'looks good' });
    process.stdout.write(`  ✔ ${env} approved by ${approver}\n`);
  }

  const final = await waitFinished(client, handle.workflowId);

  say(
    'A second promotion, api=1.6.0, is rejected in staging: its proposal branch is deleted, the deployment branch never sees it',
  );
  const second = await startPromotion(client, {
    repo,
    apps: [{ app: 'api', tag: '1.6.0' }],
    requestedBy: 'ci',
  });
  await waitForApproval(client, second.workflowId, 'staging');
  await decide(client, second.workflowId, {
    env: 'staging',
    approved: false,
    by: 'carol',
    comment: 'not during the sale',
  });
  const rejected = await waitFinished(client, second.workflowId);
  process.stdout.write(`  ✘ staging rejected by carol; dev keeps 1.6.0, staging and prod keep 1.5.0\n`);

  say('Deployment repository history (git log --stat)');
  const history = await git(['log', '--stat', '--format=%n%h %s%n%b', 'main'], { cwd: repo });
  process.stdout.write(`${history.replace(/\n{3,}/g, '\n\n').trim()}\n`);
  if (kube) {
    say('What the cluster runs (helm list -A)');
    const { execa } = await import('execa');
    process.stdout.write(`${(await execa(kube.tools.helm, ['list', '-A'], { env: kube.env })).stdout}\n`);
  }
  say('Final status');
  process.stdout.write(`${renderStatus(final)}\n${renderStatus(rejected)}\n`);
  say('Temporal Web UI');
  for (const id of [handle.workflowId, second.workflowId]) {
    process.stdout.write(`  ${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(id)}
`);
  }
  if (final.status !== 'succeeded' || rejected.status !== 'rejected') exitCode = 1;

  if (keep) {
    say('--keep: server and worker stay up for browsing; Ctrl-C stops them');
    process.stdout.write(`  then promote something yourself: see "Try it yourself" in README.md\n`);
    await new Promise((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
} catch (error) {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 1;
} finally {
  worker.shutdown();
  await workerRun;
  await workerConnection.close();
  await server.stop();
  await kube?.stop();
}
process.exit(exitCode);
