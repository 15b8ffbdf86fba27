/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument --
   rendered manifests are plain data, checked field by field */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { sshCommand, sshKeyFor } from '../../activities/git-auth.js';
import { repositoryNotAllowed } from '../../common/allowed-repositories.js';
import { FILE_SECRETS } from '../../worker/secret-files.js';
import { workerTrustFromEnv } from '../../worker/trust.js';
import { CHART, find, template, type Manifest } from '../support/chart.js';
import { helmBinary } from '../support/helm.js';

/** The chart is safe to expose: rendered by the real `helm template`, checked manifest by manifest. */

let helm: string;

beforeAll(async () => {
  helm = await helmBinary();
}, 1_800_000);

/** A container's plain environment, as the process would see it (ConfigMap included). */
function environment(manifests: Manifest[], container: any): Record<string, string> {
  const config = find(manifests, 'ConfigMap', 'rel-promote').data as Record<string, string>;
  const own = Object.fromEntries(
    (container.env as { name: string; value?: string }[])
      .filter((e) => e.value !== undefined)
      .map((e) => [e.name, e.value as string]),
  );
  return { ...config, ...own };
}

/** Where a path in the container comes from: the Secret and key mounted there. */
function secretAt(pod: any, container: any, path: string): { secret: string; key: string } | undefined {
  for (const mount of container.volumeMounts as { name: string; mountPath: string }[]) {
    if (!path.startsWith(`${mount.mountPath}/`)) continue;
    const volume = (pod.volumes as any[]).find((v) => v.name === mount.name);
    const file = path.slice(mount.mountPath.length + 1);
    const item = (volume?.secret?.items as { key: string; path: string }[] | undefined)?.find(
      (i) => i.path === file,
    );
    if (volume?.secret && item) return { secret: volume.secret.secretName, key: item.key };
  }
  return undefined;
}

const ALL_ON = [
  'receiver.enabled=true',
  'worker.prometheus.enabled=true',
  'git.sshSecret=deploy-key',
  'git.tokenSecret.name=git-token',
  'github.tokenSecret.name=github-token',
  'github.app.id=123',
  'github.app.installationId=456',
  'github.app.privateKeySecret.name=github-app',
  'secretFiles[0].env=TEMPORAL_API_KEY',
  'secretFiles[0].secret=temporal-cloud',
  'secretFiles[0].key=api-key',
  'receiver.secretFiles[0].env=SLACK_SIGNING_SECRET',
  'receiver.secretFiles[0].secret=slack',
  'receiver.secretFiles[0].key=signing-secret',
  'allowedRepositories={https://git.example.com/platform/deploy.git,github:acme/*}',
  'networkPolicy.egress[0].to[0].ipBlock.cidr=10.0.0.0/8',
];

describe('the chart, exposed', () => {
  it('passes helm lint --strict with every security option on', async () => {
    const result = await execa(helm, ['lint', '--strict', CHART, ...ALL_ON.flatMap((s) => ['--set', s])]);
    expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('gives the Slack receiver its own service account, with no token mounted', async () => {
    const manifests = await template(helm, 'receiver.enabled=true');
    const receiverPod = find(manifests, 'Deployment', 'rel-promote-receiver').spec.template.spec;
    const workerPod = find(manifests, 'Deployment', 'rel-promote-worker').spec.template.spec;
    const account = find(manifests, 'ServiceAccount', receiverPod.serviceAccountName);
    expect(receiverPod.serviceAccountName).not.toBe(workerPod.serviceAccountName);
    expect(account.automountServiceAccountToken).toBe(false);
    expect(receiverPod.automountServiceAccountToken).toBe(false);
  });

  it('never weakens host-key checking: the worker runs its own ssh command, with the key for its hosts only', async () => {
    const manifests = await template(helm, 'git.sshSecret=deploy-key', 'receiver.enabled=true', ...ALL_ON);
    for (const name of ['rel-promote-worker', 'rel-promote-receiver']) {
      for (const container of find(manifests, 'Deployment', name).spec.template.spec.containers) {
        const names = (container.env as { name: string }[]).map((e) => e.name);
        expect(names).not.toContain('GIT_SSH_COMMAND');
        expect(names).not.toContain('GIT_SSH');
      }
    }
    const worker = find(manifests, 'Deployment', 'rel-promote-worker').spec.template.spec.containers[0];
    const env = environment(manifests, worker);
    expect(env.PROMOTE_GIT_SSH_KEY).toBe('/home/promote/.ssh/ssh-privatekey');
    // What the worker makes of that environment (the same code it runs):
    const { allowed, gitAuth: auth } = workerTrustFromEnv(env, 'worker');
    const command = sshCommand(auth, sshKeyFor(auth, 'git@git.example.com:platform/deploy.git'));
    expect(command).toContain(`'StrictHostKeyChecking=yes'`);
    expect(command).toContain(`'BatchMode=yes'`);
    expect(command).toContain(`'UserKnownHostsFile=/home/promote/.ssh/known_hosts'`);
    expect(command).toContain(`'-i' '/home/promote/.ssh/ssh-privatekey'`);
    expect(sshCommand(auth, sshKeyFor(auth, 'git@elsewhere.example:x.git'))).not.toContain('ssh-privatekey');
    expect(repositoryNotAllowed('https://git.example.com/platform/deploy.git', allowed)).toBeUndefined();
    expect(repositoryNotAllowed('https://git.example.com/platform/other.git', allowed)).toBeDefined();
  });

  it('takes every secret from a file: each NAME_FILE is a key of the named Secret, mounted read-only', async () => {
    const manifests = await template(helm, ...ALL_ON);
    const expected: Record<string, Record<string, { secret: string; key: string }>> = {
      'rel-promote-worker': {
        PROMOTE_GIT_TOKEN: { secret: 'git-token', key: 'token' },
        GITHUB_TOKEN: { secret: 'github-token', key: 'token' },
        PROMOTE_GITHUB_APP_PRIVATE_KEY: { secret: 'github-app', key: 'private-key' },
        TEMPORAL_API_KEY: { secret: 'temporal-cloud', key: 'api-key' },
      },
      'rel-promote-receiver': { SLACK_SIGNING_SECRET: { secret: 'slack', key: 'signing-secret' } },
    };
    for (const [name, secrets] of Object.entries(expected)) {
      const pod = find(manifests, 'Deployment', name).spec.template.spec;
      const container = pod.containers[0];
      const env = environment(manifests, container);
      for (const [variable, source] of Object.entries(secrets)) {
        // The process reads each of these from its file (worker/secret-files.ts, the credential helper, Slack's secrets).
        expect(FILE_SECRETS).toContain(variable);
        expect(env[variable]).toBeUndefined();
        const path = env[`${variable}_FILE`];
        expect(path).toBeDefined();
        expect(secretAt(pod, container, path ?? '')).toEqual(source);
        const mount = (container.volumeMounts as { mountPath: string; readOnly?: boolean }[]).find((m) =>
          (path ?? '').startsWith(`${m.mountPath}/`),
        );
        expect(mount?.readOnly).toBe(true);
      }
    }
    const worker = environment(
      manifests,
      find(manifests, 'Deployment', 'rel-promote-worker').spec.template.spec.containers[0],
    );
    expect(worker).toMatchObject({ PROMOTE_GITHUB_APP_ID: '123', PROMOTE_GITHUB_INSTALLATION_ID: '456' });
  });

  it('renders a NetworkPolicy per component: its own ports in, egress only where allowed (and DNS)', async () => {
    const manifests = await template(
      helm,
      ...ALL_ON,
      'networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.name=monitoring',
    );
    const config = find(manifests, 'ConfigMap', 'rel-promote').data as Record<string, string>;
    for (const [component, ports] of [
      ['worker', [Number(config.PROMOTE_HEALTH_PORT), 9464]],
      ['receiver', [8090]],
    ] as const) {
      const policy = find(manifests, 'NetworkPolicy', `rel-promote-${component}`);
      const pod = find(manifests, 'Deployment', `rel-promote-${component}`).spec.template;
      expect(pod.metadata.labels).toMatchObject(policy.spec.podSelector.matchLabels);
      expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      const open = (policy.spec.ingress as { ports: { port: number }[] }[]).flatMap((r) =>
        r.ports.map((p) => p.port),
      );
      expect(open.sort()).toEqual([...ports].sort());
      expect(policy.spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }] });
      expect(policy.spec.egress[0].ports).toContainEqual({ port: 53, protocol: 'UDP' });
    }
    expect(find(manifests, 'NetworkPolicy', 'rel-promote-worker').spec.ingress[0].from).toEqual([
      { namespaceSelector: { matchLabels: { name: 'monitoring' } } },
    ]);
    // Without egress rules, egress is not restricted (git hosts and deploy targets vary), ingress still is.
    const open = find(await template(helm), 'NetworkPolicy', 'rel-promote-worker');
    expect(open.spec.policyTypes).toEqual(['Ingress']);
  });

  it('binds the metrics listener where configured', async () => {
    const manifests = await template(
      helm,
      'worker.prometheus.enabled=true',
      'worker.prometheus.bindAddress=127.0.0.1',
    );
    expect(find(manifests, 'ConfigMap', 'rel-promote').data.PROMOTE_PROMETHEUS_ADDRESS).toBe(
      '127.0.0.1:9464',
    );
    const defaults = await template(helm, 'worker.prometheus.enabled=true');
    expect(find(defaults, 'ConfigMap', 'rel-promote').data.PROMOTE_PROMETHEUS_ADDRESS).toBe('0.0.0.0:9464');
  });
});
