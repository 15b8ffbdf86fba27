import { describe, expect, it } from '@jest/globals';
import { parseConfig } from '../config/load.js';
import { capDiff, manifestDiff } from '../activities/deployers/manifest-diff.js';
import { formatMarker, parseMarker, tagIn } from '../activities/deployers/release-state.js';
import { lastGood, latest } from '../activities/deployers/helm-client.js';

/** The pure parts of the helm/helmfile deployers; the rest runs against a real API server in test:e2e. */

const base = `environments:
  - name: dev
    valuesFile: environments/dev.yaml
apps:
  api:
    tagPath: api.image.tag
`;

describe('deploy.type: helm config', () => {
  it('accepts releases with per-environment overrides', () => {
    const config = parseConfig(`${base}deploy:
  type: helm
  timeout: 10m
  releases:
    - name: shop-{env}
      chart: charts/shop
      apps: [api]
  environments:
    dev:
      namespace: shop-dev
      kubeContext: dev-cluster
      verify: ["./smoke.sh", "{env}"]
`);
    expect(config.deploy).toMatchObject({
      type: 'helm',
      pendingInstall: 'uninstall',
      releases: [{ name: 'shop-{env}', chart: 'charts/shop', apps: ['api'] }],
      environments: { dev: { namespace: 'shop-dev', kubeContext: 'dev-cluster' } },
    });
  });

  it('names the key and line of a bad timeout and of a missing release', () => {
    const parse = () => parseConfig(`${base}deploy:\n  type: helm\n  timeout: soon\n  releases: []\n`);
    expect(parse).toThrow('promote.yaml:9: deploy.timeout: must be a duration such as 90s, 5m or 1h');
    expect(parse).toThrow('promote.yaml:10: deploy.releases: must list at least one release');
  });

  it('refuses overrides for unknown environments and releases of unknown apps', () => {
    const parse = () =>
      parseConfig(
        `${base}deploy:\n  type: helm\n  releases:\n    - name: shop\n      chart: c\n      apps: [web]\n  environments:\n    prod: {}\n`,
      );
    expect(parse).toThrow('deploy.environments.prod: unknown environment "prod"');
    expect(parse).toThrow('deploy.releases[0].apps[0]: unknown app "web"');
  });

  it('accepts helmfile with sync', () => {
    expect(parseConfig(`${base}deploy:\n  type: helmfile\n  command: sync\n`).deploy).toMatchObject({
      type: 'helmfile',
      command: 'sync',
    });
  });
});

describe('the revision marker', () => {
  it('round-trips through a helm description', () => {
    const marker = {
      id: 'promote-api-1.5.0-abcd',
      env: 'dev',
      commit: 'f'.repeat(40),
      before: { api: 3, web: 0 },
    };
    expect(parseMarker(formatMarker(marker))).toEqual(marker);
    expect(parseMarker('Upgrade complete')).toBeUndefined();
  });
});

describe('reading tags from release values', () => {
  it('finds the tag at its path, or without the app key in a release named after the app', () => {
    expect(tagIn({ api: { image: { tag: '1.5.0' } } }, 'api.image.tag', 'shop')).toBe('1.5.0');
    expect(tagIn({ image: { tag: '1.5.0' } }, 'api.image.tag', 'api')).toBe('1.5.0');
    expect(tagIn({ image: { tag: '2.1.0' } }, 'api.image.tag', 'web')).toBeUndefined();
  });
});

describe('repair targets', () => {
  it('judges by the latest revision and rolls back to the last deployed one', () => {
    const history = [
      { revision: 1, status: 'superseded', description: '' },
      { revision: 2, status: 'deployed', description: '' },
      { revision: 3, status: 'pending-upgrade', description: '' },
    ];
    expect(latest(history)?.status).toBe('pending-upgrade');
    expect(lastGood(history)?.revision).toBe(2);
    expect(lastGood([{ revision: 1, status: 'pending-install', description: '' }])).toBeUndefined();
  });
});

describe('manifest diff', () => {
  const deployed = `---
# Source: shop/templates/secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: shop-settings
stringData:
  apiKey: "s3cr3t-old"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
        - image: shop/api:1.4.0
`;
  const rendered = deployed.replace('1.4.0', '1.5.0').replace('s3cr3t-old', 's3cr3t-new');

  it('is a unified diff per release with Secret data masked', () => {
    const diff = manifestDiff('shop', deployed, rendered);
    expect(diff).toContain('--- shop (deployed)');
    expect(diff).toContain('-        - image: shop/api:1.4.0');
    expect(diff).toContain('+        - image: shop/api:1.5.0');
    expect(diff).toMatch(/[-+] {2}apiKey: <masked hmac-sha256:[0-9a-f]{12}>/);
    expect(diff).not.toContain('s3cr3t');
  });

  it('is empty when nothing changes, whatever the document order and comments', () => {
    const reordered = rendered.split('---\n').reverse().join('---\n');
    expect(manifestDiff('shop', rendered, reordered)).toBe('');
  });

  it('is capped at 64 KiB and says so', () => {
    const capped = capDiff('x'.repeat(70 * 1024));
    expect(Buffer.byteLength(capped)).toBeLessThan(65 * 1024);
    expect(capped).toMatch(/diff cut at 64 KiB \(71680 bytes in all\)/);
  });
});
