// A real Kubernetes control plane on loopback: etcd and kube-apiserver, nothing else. Enough for helm
// (releases are Secrets, charts are objects the API server validates and stores); no scheduler or
// controller-manager, so Deployments never roll out — which the tests use to make `--wait` block.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { stringify } from 'yaml';
import { ensureClusterTools, type BuildOptions, type ClusterToolPaths } from './cluster-tools.js';
import { freePort } from './ports.js';

export interface LocalCluster {
  /** The kubeconfig file (context `promote-local`, a static admin token, TLS skipped on loopback). */
  kubeconfig: string;
  server: string;
  token: string;
  tools: ClusterToolPaths;
  /** Environment for helm/helmfile child processes: KUBECONFIG and PATH with helm first. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface LocalClusterOptions extends BuildOptions {
  /** Where keys, data and logs go; a fresh temporary folder by default (deleted on stop). */
  dir?: string;
  readyTimeoutMs?: number;
}

export const LOCAL_CONTEXT = 'promote-local';

async function readyz(server: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `${server}/readyz`,
      { headers: { Authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 2_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function stopProcess(child: ResultPromise, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await child.catch(() => undefined);
  clearTimeout(timer);
}

/** Starts etcd and kube-apiserver on free loopback ports (building them first if needed). */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const tools = await ensureClusterTools(options);
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'promote-cluster-'));
  mkdirSync(join(dir, 'certs'), { recursive: true });

  const token = randomBytes(24).toString('hex');
  writeFileSync(join(dir, 'tokens.csv'), `${token},promote-admin,promote-admin,"system:masters"\n`, {
    mode: 0o600,
  });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));

  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const logs = {
    etcd: join(dir, 'etcd.log'),
    apiserver: join(dir, 'kube-apiserver.log'),
  };
  const etcd = execa(
    tools.etcd,
    [
      '--name=promote',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=promote=${peerUrl}`,
      // A throw-away store: durability costs seconds per write on a busy disk.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    { stdout: { file: logs.etcd }, stderr: { file: logs.etcd }, stdin: 'ignore', reject: false },
  );
  const apiserver = execa(
    tools['kube-apiserver'],
    [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=AlwaysAllow',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      '--service-cluster-ip-range=10.96.0.0/16',
      // No controller-manager creates the kubernetes endpoints or service accounts.
      '--endpoint-reconciler-type=none',
      '--disable-admission-plugins=ServiceAccount',
      '--v=0',
    ],
    { stdout: { file: logs.apiserver }, stderr: { file: logs.apiserver }, stdin: 'ignore', reject: false },
  );

  const server = `https://127.0.0.1:${apiPort}`;
  const stop = async () => {
    await stopProcess(apiserver, 10_000);
    await stopProcess(etcd, 10_000);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  while (!(await readyz(server, token))) {
    const exited = [etcd, apiserver].find((c) => c.exitCode !== null);
    if (exited || Date.now() > deadline) {
      await stop().catch(() => undefined);
      throw new Error(
        exited
          ? `${exited === etcd ? 'etcd' : 'kube-apiserver'} exited early; see ${exited === etcd ? logs.etcd : logs.apiserver}`
          : `kube-apiserver was not ready within ${options.readyTimeoutMs ?? 120_000} ms; see ${logs.apiserver}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: LOCAL_CONTEXT, cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: LOCAL_CONTEXT, user: { token } }],
      contexts: [{ name: LOCAL_CONTEXT, context: { cluster: LOCAL_CONTEXT, user: LOCAL_CONTEXT } }],
      'current-context': LOCAL_CONTEXT,
    }),
    { mode: 0o600 },
  );
  const helmDir = join(tools.helm, '..');
  const env = {
    KUBECONFIG: kubeconfig,
    PATH: `${helmDir}:${join(tools.helmfile, '..')}:${process.env.PATH ?? ''}`,
    // Keep helm's caches and repositories out of the user's home.
    HELM_CACHE_HOME: join(dir, 'helm', 'cache'),
    HELM_CONFIG_HOME: join(dir, 'helm', 'config'),
    HELM_DATA_HOME: join(dir, 'helm', 'data'),
  };
  return { kubeconfig, server, token, tools, env, stop };
}
