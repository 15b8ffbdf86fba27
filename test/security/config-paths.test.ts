import { describe, expect, it } from '@jest/globals';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../../config/load.js';
import { checkoutPath } from '../../activities/deployers/checkout-path.js';
import { promoteCli } from '../support/cli.js';

const base = `environments:
  - name: dev
    valuesFile: environments/dev.yaml
  - name: prod
    valuesFile: environments/prod.yaml
    approval: manual
apps:
  api:
    tagPath: api.image.tag
`;

function problemsOf(text: string): string {
  try {
    parseConfig(text);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError, the config was accepted');
}

const helm = (release: string) => `${base}deploy:\n  type: helm\n  releases:\n    - name: shop\n${release}`;

describe('paths in promote.yaml stay inside the checkout and are never flags', () => {
  it.each([
    [
      'a values file above the checkout',
      helm('      chart: charts/shop\n      valuesFiles: [../../etc/passwd]\n'),
      'deploy.releases[0].valuesFiles[0]',
    ],
    [
      'an absolute values file',
      helm('      chart: charts/shop\n      valuesFiles: [/etc/passwd]\n'),
      'deploy.releases[0].valuesFiles[0]',
    ],
    [
      'a values file that is a flag',
      helm("      chart: charts/shop\n      valuesFiles: ['--post-renderer=/bin/sh']\n"),
      'deploy.releases[0].valuesFiles[0]',
    ],
    [
      'a values file that escapes midway',
      helm('      chart: charts/shop\n      valuesFiles: [environments/../../x.yaml]\n'),
      'deploy.releases[0].valuesFiles[0]',
    ],
    ['a chart above the checkout', helm('      chart: ../other-repo/chart\n'), 'deploy.releases[0].chart'],
    ['an absolute chart', helm('      chart: /srv/charts/shop\n'), 'deploy.releases[0].chart'],
    ['a chart that is a flag', helm("      chart: '--post-renderer=/tmp/x'\n"), 'deploy.releases[0].chart'],
    [
      'a helmfile above the checkout',
      `${base}deploy:\n  type: helmfile\n  file: ../helmfile.yaml\n`,
      'deploy.file',
    ],
    ['an absolute helmfile', `${base}deploy:\n  type: helmfile\n  file: /etc/helmfile.yaml\n`, 'deploy.file'],
    [
      'a helmfile that is a flag',
      `${base}deploy:\n  type: helmfile\n  file: '--state-values-set=x'\n`,
      'deploy.file',
    ],
    [
      'a kube context that is a flag',
      `${base}deploy:\n  type: helmfile\n  kubeContext: '--kubeconfig=/tmp/x'\n`,
      'deploy.kubeContext',
    ],
    [
      'a values file of an environment that is a flag',
      base.replace('environments/dev.yaml', "'--upload-pack=x'") + 'deploy:\n  type: helmfile\n',
      'environments[0].valuesFile',
    ],
  ])('refuses %s', (_name, text, key) => {
    expect(problemsOf(text)).toContain(key);
  });

  it('still takes charts from a chart repository or OCI, and values files in the repository', () => {
    const config = parseConfig(
      helm(
        '      chart: oci://registry.example.com/charts/shop\n      version: 1.2.3\n      valuesFiles: ["values/{env}.yaml", ./common.yaml]\n',
      ),
    );
    expect(config.deploy).toMatchObject({ releases: [{ chart: 'oci://registry.example.com/charts/shop' }] });
    expect(() => parseConfig(helm('      chart: bitnami/nginx\n      version: 15.0.0\n'))).not.toThrow();
  });

  it('promote validate reports the escape with exit 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promote-paths-'));
    try {
      const file = join(dir, 'promote.yaml');
      await writeFile(file, helm('      chart: charts/shop\n      valuesFiles: [../../../etc/shadow]\n'));
      const result = await promoteCli(['validate', file]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('deploy.releases[0].valuesFiles[0]');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a path that a symlink in the checkout leads outside of is refused when the deployer resolves it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promote-checkout-'));
    try {
      const checkout = join(dir, 'checkout');
      await mkdir(join(checkout, 'values'), { recursive: true });
      await writeFile(join(dir, 'secret.yaml'), 'password: hunter2\n');
      await writeFile(join(checkout, 'values', 'dev.yaml'), 'a: 1\n');
      await symlink(join(dir, 'secret.yaml'), join(checkout, 'values', 'leak.yaml'));
      await symlink(dir, join(checkout, 'up'));
      expect(checkoutPath(checkout, 'values/dev.yaml')).toBe(join(checkout, 'values', 'dev.yaml'));
      expect(() => checkoutPath(checkout, 'values/leak.yaml')).toThrow(/outside the checkout/);
      expect(() => checkoutPath(checkout, 'up/secret.yaml')).toThrow(/outside the checkout/);
      expect(() => checkoutPath(checkout, '../secret.yaml')).toThrow(/outside the checkout/);
      expect(() => checkoutPath(checkout, '-x')).toThrow(/flag/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a proposal branch can never be the deployment branch', () => {
  it.each([
    ['the deployment branch matches the default template', `branch: promote/prod/hotfix\n${base}`, 'branch'],
    [
      'a template that can produce the deployment branch',
      `branch: release-x\nproposalBranch: 'release-{promotion}'\n${base}`,
      'branch',
    ],
    [
      "an environment's template that can produce the deployment branch",
      `branch: deploy/prod/live\n${base.replace('approval: manual', "approval: manual\n    proposalBranch: 'deploy/{env}/{promotion}'")}`,
      'branch',
    ],
  ])('refuses %s', (_name, text, key) => {
    expect(problemsOf(`${text}deploy:\n  type: helmfile\n`)).toContain(`${key}: `);
  });
});
