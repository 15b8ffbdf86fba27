/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument --
   rendered manifests are plain data, checked field by field */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../server/tools.js';
import { DEFAULT_BUNDLE_PATH } from '../worker/bundle.js';
import { workerSettingsFromEnv } from '../worker/settings.js';
import { CHART, find, template } from './support/chart.js';
import { helmBinary } from './support/helm.js';

let helm: string;

// The first run builds helm from source: minutes on a busy two-core machine, then a stamp check.
beforeAll(async () => {
  helm = await helmBinary();
}, 1_800_000);

describe('the Helm chart', () => {
  it('passes helm lint --strict with every option on', async () => {
    const result = await execa(helm, [
      'lint',
      '--strict',
      CHART,
      '--set',
      'receiver.enabled=true',
      '--set',
      'worker.prometheus.enabled=true',
      '--set',
      'git.sshSecret=deploy-key',
      '--set',
      'temporal.apiKeySecret.name=temporal-cloud',
      '--set',
      'temporal.tlsSecret=temporal-mtls',
      '--set',
      'worker.otlpEndpoint=http://otel:4318',
      '--set',
      'worker.versioning.enabled=true',
      '--set',
      'worker.versioning.versions[0].buildId=0.1.0',
    ]);
    expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('renders a non-root worker whose pod outlives its shutdown grace, with probes on the health server', async () => {
    const manifests = await template(
      helm,
      'temporal.apiKeySecret.name=temporal-cloud',
      'receiver.enabled=true',
    );
    const config = find(manifests, 'ConfigMap', 'rel-promote');
    const worker = find(manifests, 'Deployment', 'rel-promote-worker');
    const pod = worker.spec.template.spec;
    const container = pod.containers[0];

    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    // The worker reads PROMOTE_SHUTDOWN_GRACE_MS with the code the test calls here.
    const saved = process.env.PROMOTE_SHUTDOWN_GRACE_MS;
    process.env.PROMOTE_SHUTDOWN_GRACE_MS = config.data.PROMOTE_SHUTDOWN_GRACE_MS;
    const graceMs = workerSettingsFromEnv().shutdownGraceMs;
    if (saved === undefined) delete process.env.PROMOTE_SHUTDOWN_GRACE_MS;
    else process.env.PROMOTE_SHUTDOWN_GRACE_MS = saved;
    expect(graceMs).toBe(7_200_000);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(graceMs);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'health' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'health' });
    expect(container.ports).toContainEqual({
      name: 'health',
      containerPort: Number(config.data.PROMOTE_HEALTH_PORT),
    });
    expect(container.envFrom).toContainEqual({ configMapRef: { name: 'rel-promote' } });
    // Secrets are referenced, never rendered into the manifests.
    expect(container.env).toContainEqual({
      name: 'TEMPORAL_API_KEY',
      valueFrom: { secretKeyRef: { name: 'temporal-cloud', key: 'TEMPORAL_API_KEY' } },
    });
    expect(pod.serviceAccountName).toBe(find(manifests, 'ServiceAccount', 'rel-promote').metadata.name);

    for (const component of ['worker', 'receiver']) {
      const pdb = find(manifests, 'PodDisruptionBudget', `rel-promote-${component}`);
      const deployment = find(manifests, 'Deployment', `rel-promote-${component}`);
      expect(deployment.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    }
    const receiver = find(manifests, 'Deployment', 'rel-promote-receiver');
    expect(find(manifests, 'Service', 'rel-promote-receiver').spec.selector).toEqual(
      receiver.spec.template.metadata.labels,
    );
    // The receiver is `promote slack`, listening where its Service sends Slack's requests.
    expect(receiver.spec.template.spec.containers[0].args).toEqual(['slack', '--port', '8090']);
  });

  it('renders a rainbow rollout: one Deployment per worker version, each a version of one Worker Deployment', async () => {
    const manifests = await template(
      helm,
      'worker.versioning.enabled=true',
      'worker.versioning.versions[0].buildId=0.1.0',
      'worker.versioning.versions[1].buildId=0.2.0+b7',
      'worker.versioning.versions[1].imageTag=0.2.0',
      'worker.versioning.versions[1].replicas=1',
    );
    const old = find(manifests, 'Deployment', 'rel-promote-worker-0-1-0');
    const next = find(manifests, 'Deployment', 'rel-promote-worker-0-2-0-b7');
    expect(manifests.filter((m) => m.kind === 'Deployment').map((m) => m.metadata.name)).toEqual([
      'rel-promote-worker-0-1-0',
      'rel-promote-worker-0-2-0-b7',
    ]);
    const env = (d: any) =>
      Object.fromEntries(
        (d.spec.template.spec.containers[0].env as { name: string; value?: string }[]).map((e) => [
          e.name,
          e.value,
        ]),
      );
    // What `promote worker` reads (worker/versioning.ts): one deployment name, a build id each.
    expect(env(old)).toMatchObject({
      PROMOTE_WORKER_DEPLOYMENT: 'rel-promote',
      PROMOTE_WORKER_BUILD_ID: '0.1.0',
    });
    expect(env(next)).toMatchObject({
      PROMOTE_WORKER_DEPLOYMENT: 'rel-promote',
      PROMOTE_WORKER_BUILD_ID: '0.2.0+b7',
    });
    expect(old.spec.template.spec.containers[0].image).toBe('registry.example.com/platform/promote:0.1.0');
    expect(next.spec.template.spec.containers[0].image).toBe('registry.example.com/platform/promote:0.2.0');
    expect([old.spec.replicas, next.spec.replicas]).toEqual([2, 1]);
    // Each Deployment selects only its own pods; the disruption budget covers every version's.
    expect(old.spec.selector.matchLabels).not.toEqual(next.spec.selector.matchLabels);
    expect(old.spec.template.metadata.labels).not.toMatchObject(next.spec.selector.matchLabels);
    const pdb = find(manifests, 'PodDisruptionBudget', 'rel-promote-worker');
    for (const d of [old, next])
      expect(d.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);

    // No versions listed: one version named after the image tag (the chart's appVersion by default).
    const single = await template(
      helm,
      'worker.versioning.enabled=true',
      'worker.versioning.deploymentName=promote',
    );
    expect(env(find(single, 'Deployment', 'rel-promote-worker-0-1-0'))).toMatchObject({
      PROMOTE_WORKER_DEPLOYMENT: 'promote',
      PROMOTE_WORKER_BUILD_ID: '0.1.0',
    });
    // Moving an install to versioning: the unversioned Deployment keeps running beside the version.
    const migrating = await template(
      helm,
      'worker.versioning.enabled=true',
      'worker.versioning.keepUnversioned=true',
    );
    expect(migrating.filter((m) => m.kind === 'Deployment').map((m) => m.metadata.name)).toEqual([
      'rel-promote-worker',
      'rel-promote-worker-0-1-0',
    ]);
    expect(env(find(migrating, 'Deployment', 'rel-promote-worker'))).not.toHaveProperty(
      'PROMOTE_WORKER_DEPLOYMENT',
    );
    // Versioning off: the one unversioned Deployment, as before.
    expect(env(find(await template(helm), 'Deployment', 'rel-promote-worker'))).not.toHaveProperty(
      'PROMOTE_WORKER_DEPLOYMENT',
    );
  });

  it('refuses a termination grace that does not outlast the worker shutdown grace', async () => {
    const result = await execa(
      helm,
      [
        'template',
        'rel',
        CHART,
        '--set',
        'worker.shutdownGraceSeconds=120',
        '--set',
        'worker.terminationGracePeriodSeconds=60',
      ],
      { reject: false },
    );
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain(
      'worker.terminationGracePeriodSeconds (60) must be longer than worker.shutdownGraceSeconds (120)',
    );
  });

  it('keeps the Dockerfile in step with what the tests run', async () => {
    // No Docker engine here: the image cannot be built, so its contract with the code is checked instead.
    const dockerfile = await readFile(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    const pkg = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.bundle).toContain('node dist/worker/bundle.js');
    expect(dockerfile).toContain('node dist/worker/bundle.js dist/workflow-bundle.js');
    expect(DEFAULT_BUNDLE_PATH.endsWith(join('dist', 'workflow-bundle.js'))).toBe(true);
    expect(dockerfile).toMatch(/PROMOTE_WORKFLOW_BUNDLE=\/app\/dist\/workflow-bundle\.js/);
    expect(dockerfile).toMatch(/^USER 10001/m);
    expect(dockerfile).toMatch(/git openssh-client/);
    expect(dockerfile).toMatch(/\/usr\/local\/bin\/helm \/usr\/local\/bin\/helmfile/);
    expect(dockerfile).toContain('/healthz');
  });
});
