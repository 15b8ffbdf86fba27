import { afterAll, beforeAll } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { execa } from 'execa';
import { startLocalCluster, type LocalCluster } from '../../server/local-cluster.js';

/** One real API server (etcd + kube-apiserver) per test file; tests use fresh namespaces. */
export function useCluster(): { readonly cluster: TestCluster } {
  let current: TestCluster | undefined;
  beforeAll(async () => {
    current = new TestCluster(await startLocalCluster());
  }, 30 * 60_000);
  afterAll(async () => {
    await current?.local.stop();
  });
  return {
    get cluster(): TestCluster {
      if (!current) throw new Error('the local cluster is not started yet');
      return current;
    },
  };
}

export interface HelmRevision {
  revision: number;
  status: string;
  description: string;
}

let namespaces = 0;

export class TestCluster {
  constructor(readonly local: LocalCluster) {}

  /** A namespace prefix no earlier test used: deleted namespaces stay Terminating without a controller. */
  prefix(): string {
    return `t${process.pid % 10_000}-${++namespaces}-`;
  }

  get env(): Record<string, string> {
    return this.local.env;
  }

  async helm(args: string[], options: { reject?: boolean } = {}) {
    return execa(this.local.tools.helm, args, { env: this.env, reject: options.reject ?? true });
  }

  async history(release: string, namespace: string): Promise<HelmRevision[]> {
    const result = await this.helm(['history', release, '-n', namespace, '-o', 'json'], { reject: false });
    if (result.exitCode !== 0) return [];
    return (JSON.parse(result.stdout) as HelmRevision[]).sort((a, b) => a.revision - b.revision);
  }

  async latest(release: string, namespace: string): Promise<HelmRevision | undefined> {
    return (await this.history(release, namespace)).at(-1);
  }

  async values(release: string, namespace: string): Promise<Record<string, unknown>> {
    const result = await this.helm(['get', 'values', release, '-n', namespace, '-o', 'json']);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  }

  /** A raw API call with the cluster's admin token. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.local.server}${path}`,
        {
          method,
          rejectUnauthorized: false,
          headers: {
            Authorization: `Bearer ${this.local.token}`,
            'Content-Type': 'application/json',
          },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  async ensureNamespace(name: string): Promise<void> {
    const res = await this.api('POST', '/api/v1/namespaces', { metadata: { name } });
    if (res.status !== 201 && res.status !== 409) throw new Error(`namespace ${name}: ${res.body}`);
  }

  /** Makes rollouts in `namespace` real (and so never ready): see STALL_CONFIGMAP. */
  async stallRollouts(namespace: string, name: string): Promise<void> {
    await this.ensureNamespace(namespace);
    const res = await this.api('POST', `/api/v1/namespaces/${namespace}/configmaps`, {
      metadata: { name },
    });
    if (res.status !== 201 && res.status !== 409) throw new Error(`stall: ${res.body}`);
  }

  async resumeRollouts(namespace: string, name: string): Promise<void> {
    await this.api('DELETE', `/api/v1/namespaces/${namespace}/configmaps/${name}`);
  }
}

/** The pids of running processes whose argv contains every one of `words` (Linux /proc). */
export function processesWith(...words: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (words.every((w) => argv.includes(w))) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}
