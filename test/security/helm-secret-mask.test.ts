import { describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HelmDeployer } from '../../activities/deployers/helm.js';
import { manifestDiff, maskSecretValue } from '../../activities/deployers/manifest-diff.js';
import { useTempDir } from '../support/temp-dirs.js';

/**
 * Issue 18, item 4: Helm Secret data is masked with a keyed hash (a guessable value cannot be found
 * by hashing the guess) and for a release of any size (the deployer reads rendered manifests whole).
 */
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function secretManifest(value: string): string {
  return `apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  db: ${value}
data:
  db64: ${Buffer.from(value).toString('base64')}
`;
}

describe('Helm Secret masking', () => {
  it('uses a keyed hash: a guessable value does not show as its plain sha256', () => {
    const diff = manifestDiff('shop', undefined, secretManifest('password'));
    const masked = /db: (<masked hmac-sha256:[0-9a-f]{12}>)/.exec(diff)?.[1];
    expect(masked).toBeDefined();
    for (const form of ['password', Buffer.from('password').toString('base64')]) {
      const plain = sha256(form);
      expect(diff).not.toContain(plain.slice(0, 8));
      expect(diff).not.toContain(`: ${form}`);
    }
    // Another worker (another key) masks the same value differently: the digest is not a fingerprint.
    expect(maskSecretValue('password', randomBytes(32))).not.toBe(masked);
  });

  it('still tells a changed value from an unchanged one', () => {
    expect(manifestDiff('shop', secretManifest('password'), secretManifest('password'))).toBe('');
    const changed = manifestDiff('shop', secretManifest('password'), secretManifest('hunter2'));
    expect(changed).toMatch(/^- {2}db: <masked hmac-sha256:[0-9a-f]{12}>$/m);
    expect(changed).toMatch(/^\+ {2}db: <masked hmac-sha256:[0-9a-f]{12}>$/m);
    expect(changed).not.toContain('hunter2');
  });

  it('masks Secrets inside a List and does not show a document it cannot parse', () => {
    const list = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Secret
    metadata: { name: inner }
    stringData: { db: planted-in-a-list }
---
kind: Secret
stringData: { db: planted-unparsed
`;
    const diff = manifestDiff('shop', undefined, list);
    expect(diff).not.toContain('planted-in-a-list');
    expect(diff).not.toContain('planted-unparsed');
    expect(diff).toContain('<masked hmac-sha256:');
  });
});

describe('a helm diff of a release larger than any output cap', () => {
  const dir = useTempDir('promote-helm-mask-');

  it('masks a Secret whose beginning is megabytes before its data', async () => {
    const planted = {
      url: `postgres://app:planted-${randomBytes(8).toString('hex')}@db/shop`,
      config: `planted-config-${randomBytes(8).toString('hex')}`,
    };
    // A Secret whose `kind` is far from its data: a reader that keeps only the end of a long output
    // would start inside the Secret, with nothing left to say it is one.
    const head = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: big\ntype: Opaque\n`;
    const rest = (filler: string) =>
      `data:\n  DATABASE_URL: ${Buffer.from(planted.url).toString('base64')}\n` +
      `stringData:\n  config: ${planted.config}\n---\napiVersion: v1\nkind: ServiceAccount\n` +
      `metadata:\n  name: filler\ndata:\n  filler: ${filler}\n`;
    // Sized so that the last 256 KiB (the helm client's cap on other reads) start right at `data:`;
    // then ten times that, so that no smaller cap holds it either.
    const cap = 256 * 1024;
    const big = head + rest('x'.repeat(cap - rest('').length));
    const manifest = `${head.replace('name: big', 'name: pad')}data:\n  pad: ${'y'.repeat(10 * cap)}\n---\n${big}`;
    const manifestFile = join(dir(), 'manifest.yaml');
    await writeFile(manifestFile, manifest);

    // A stand-in for helm: no release yet, and `helm template` renders the big manifest.
    const bin = join(dir(), 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(
      join(bin, 'helm'),
      `#!/usr/bin/env bash
case "$1" in
  history) echo '[]' ;;
  get) echo 'Error: release: not found' >&2; exit 1 ;;
  template) cat '${manifestFile}' ;;
  *) echo "unexpected: helm $*" >&2; exit 9 ;;
esac
`,
    );
    await chmod(join(bin, 'helm'), 0o755);
    const checkout = join(dir(), 'checkout');
    await mkdir(join(checkout, 'environments'), { recursive: true });
    await writeFile(
      join(checkout, 'promote.yaml'),
      `environments:
  - name: dev
    valuesFile: environments/dev.yaml
apps:
  api:
    tagPath: api.image.tag
deploy:
  type: helm
  releases:
    - name: shop
      chart: charts/shop
`,
    );
    await writeFile(join(checkout, 'environments/dev.yaml'), 'api:\n  image:\n    tag: "1.0.0"\n');

    const deployer = new HelmDeployer(
      { type: 'helm', pendingInstall: 'uninstall', releases: [{ name: 'shop', chart: 'charts/shop' }] },
      { env: { PATH: `${bin}:${process.env.PATH ?? ''}` } },
    );
    const outcome = await deployer.run('diff', {
      env: 'dev',
      commit: '0'.repeat(40),
      promotionId: 'promote-mask-test',
      checkout,
      signal: new AbortController().signal,
      onProgress: () => undefined,
    });
    expect(outcome.error).toBeUndefined();
    expect(outcome.ok).toBe(true);
    expect(outcome.output).toContain('# Secret/big');
    expect(outcome.output).toMatch(/DATABASE_URL: <masked hmac-sha256:[0-9a-f]{12}>/);
    for (const value of [planted.url, Buffer.from(planted.url).toString('base64'), planted.config])
      expect(outcome.output).not.toContain(value);
  });
});
