import { describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { appScalarEdits, readAppTag, type AppValueEdit } from '../activities/formats/app-values.js';
import { readScalars, setScalars, type ScalarEdit } from '../activities/formats/yaml-values.js';
import { parseConfig } from '../config/load.js';
import { validateConfigFile } from '../client/validate-file.js';
import { PROJECT_ROOT } from '../server/tools.js';

const DIR = join(PROJECT_ROOT, 'test', 'fixtures', 'formats');
const fixture = (name: string) => readFileSync(join(DIR, name), 'utf8');
const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** Lines removed (`-old`) and added (`+new`), in order, from a longest-common-subsequence diff: what `git diff` shows. */
function diff(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  const lcs = a.map(() => b.map(() => 0));
  const at = (i: number, j: number) => (i < a.length && j < b.length ? (lcs[i]?.[j] ?? 0) : 0);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      (lcs[i] as number[])[j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
    }
  }
  const out: string[] = [];
  let [i, j] = [0, 0];
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) [i, j] = [i + 1, j + 1];
    else if (i < a.length && (j >= b.length || at(i + 1, j) >= at(i, j + 1))) out.push(`-${a[i++]}`);
    else out.push(`+${b[j++]}`);
  }
  return out;
}

interface Case {
  name: string;
  fixture: string;
  edits: ScalarEdit[];
  lines: string[];
}

const app = (edit: AppValueEdit) => appScalarEdits(edit);

const cases: Case[] = [
  {
    name: 'a list item selected by a field',
    fixture: 'list-selector.yaml',
    edits: [
      { path: 'services[name=api].image.tag', value: '1.5.0' },
      { path: 'services[name=worker].image.tag', value: '0.9.2' },
    ],
    lines: [
      '-      tag: "1.4.0"',
      '+      tag: "1.5.0"',
      "-  - {name: worker, image: {repository: registry.example.com/shop/worker, tag: '0.9.1'}}",
      "+  - {name: worker, image: {repository: registry.example.com/shop/worker, tag: '0.9.2'}}",
    ],
  },
  {
    name: 'a list item by index',
    fixture: 'list-selector.yaml',
    edits: [{ path: 'services[0].image.tag', value: '2.1.0' }],
    lines: ['-      tag: 2.0.3', '+      tag: 2.1.0'],
  },
  {
    name: 'a document selected by index',
    fixture: 'multi-document.yaml',
    edits: [{ path: 'image.tag', value: '2.1.0', document: 1 }],
    lines: ['-  tag: 2.0.3 # web', '+  tag: 2.1.0 # web'],
  },
  {
    name: 'a document selected by a field',
    fixture: 'multi-document.yaml',
    edits: [
      { path: 'image.tag', value: '1.5.0', document: 'name=api' },
      { path: 'image.tag', value: '1.0.0', document: 'name=worker' },
    ],
    lines: ['-  tag: 1.4.0 # api', '+  tag: 1.5.0 # api', "-  tag: '0.9.1'", "+  tag: '1.0.0'"],
  },
  {
    name: 'helmfile state values, inline and in a release set',
    fixture: 'helmfile.yaml',
    edits: [
      { path: 'environments.prod.values[1].api.image.tag', value: '1.5.0' },
      { path: 'releases[name=api].set[name=image.tag].value', value: '1.5.0' },
      { path: 'releases[name=web].set[name=image.tag].value', value: '2.1.0' },
    ],
    lines: [
      '-            tag: 1.4.0   # inline state values',
      '+            tag: 1.5.0   # inline state values',
      '-        value: "1.4.0"',
      '+        value: "1.5.0"',
      '-      - {name: image.tag, value: 2.0.3}',
      '+      - {name: image.tag, value: 2.1.0}',
    ],
  },
  {
    name: 'a kustomize image: newTag, and a digest created beside it',
    fixture: 'kustomization.yaml',
    edits: app({
      tagPath: 'images[name=registry.example.com/shop/api].newTag',
      digestPath: 'images[name=registry.example.com/shop/api].digest',
      tag: `1.5.0@${DIGEST}`,
      create: true,
    }),
    lines: ['-  newTag: 1.4.0', '+  newTag: 1.5.0', `+  digest: ${DIGEST}`],
  },
  {
    name: 'a kustomize image: a plain tag clears the old digest',
    fixture: 'kustomization.yaml',
    edits: app({
      tagPath: 'images[name=registry.example.com/shop/web].newTag',
      digestPath: 'images[name=registry.example.com/shop/web].digest',
      tag: '2.1.0',
    }),
    lines: [
      '-  newTag: "2.0.3"',
      '-  digest: sha256:1111111111111111111111111111111111111111111111111111111111111111',
      '+  newTag: "2.1.0"',
      '+  digest: ""',
    ],
  },
  {
    name: 'a kustomize image entry created when missing',
    fixture: 'kustomization.yaml',
    edits: [{ path: 'images[name=registry.example.com/shop/worker].newTag', value: '0.9.2', create: true }],
    lines: ['+- name: registry.example.com/shop/worker', '+  newTag: 0.9.2'],
  },
  {
    name: 'an image digest written to its own path',
    fixture: 'digest-values.yaml',
    edits: app({ tagPath: 'api.image.tag', digestPath: 'api.image.digest', tag: `1.5.0@${DIGEST}` }),
    lines: [
      '-    tag: 1.4.0',
      '-    digest: ""   # set together with the tag',
      '+    tag: 1.5.0',
      `+    digest: "${DIGEST}"   # set together with the tag`,
    ],
  },
  {
    name: 'keys created in block maps, flow maps, empty values and lists',
    fixture: 'create.yaml',
    edits: [
      { path: 'api.image.tag', value: '1.5.0', create: true },
      { path: 'api.image.revision', value: '1234567', create: true },
      { path: 'web.image.tag', value: '2.1.0', create: true },
      { path: 'worker.image.tag', value: '0.9.2', create: true },
      { path: 'sidecars[name=logger].tag', value: '3.0.0', create: true },
    ],
    lines: [
      '+    tag: 1.5.0',
      '+    revision: "1234567"',
      '-  image: {repository: registry.example.com/shop/web}',
      '-worker:',
      '+  image: {repository: registry.example.com/shop/web, tag: 2.1.0}',
      '+worker: {image: {tag: 0.9.2}}',
      '+  - name: logger',
      '+    tag: 3.0.0',
    ],
  },
];

describe('value formats found in the field', () => {
  it.each(cases)(
    '$name: only the promoted scalars change (golden file)',
    ({ fixture: file, edits, lines }) => {
      const source = fixture(file);
      const { text, changes } = setScalars(source, edits, file);
      expect(diff(source, text)).toEqual(lines);
      expect(changes.length).toBeGreaterThan(0);
      // Still valid YAML, and every edit reads back as the exact string.
      for (const doc of parseAllDocuments(text)) expect(doc.errors).toEqual([]);
      for (const edit of edits)
        expect(readScalars(text, [edit], file).values().next().value).toBe(edit.value);
      // Applying the same edits again changes nothing.
      expect(setScalars(text, edits, file).text).toBe(text);
    },
  );

  // `UPDATE_GOLDEN=1` rewrites them after a deliberate change; review the diff before committing.
  it('matches the checked-in golden files', () => {
    for (const { fixture: file, edits, name } of cases) {
      const golden = join(DIR, 'golden', `${name.replace(/[^a-z0-9]+/gi, '-')}.yaml`);
      const text = setScalars(fixture(file), edits, file).text;
      if (process.env.UPDATE_GOLDEN) writeFileSync(golden, text);
      expect(text).toBe(readFileSync(golden, 'utf8'));
    }
  });

  it('reads an app tag with its digest, and a missing key as empty only when the app may create it', () => {
    const kustomize = fixture('kustomization.yaml');
    const web = 'images[name=registry.example.com/shop/web]';
    expect(readAppTag(kustomize, { tagPath: `${web}.newTag`, digestPath: `${web}.digest` }, 'k.yaml')).toBe(
      `2.0.3@sha256:${'1'.repeat(64)}`,
    );
    const create = fixture('create.yaml');
    expect(readAppTag(create, { tagPath: 'api.image.tag', create: true }, 'c.yaml')).toBe('');
    expect(() => readAppTag(create, { tagPath: 'api.image.tag' }, 'c.yaml')).toThrow(
      'c.yaml has no key api.image.tag',
    );
  });
});

describe('values edits refuse what they cannot do safely', () => {
  it('a missing key, list item or document is an error unless the app says create', () => {
    const source = fixture('list-selector.yaml');
    expect(() => setScalars(source, [{ path: 'services[name=db].image.tag', value: '1' }], 'v.yaml')).toThrow(
      'v.yaml has no key services[name=db].image.tag',
    );
    expect(() =>
      setScalars(source, [{ path: 'services[7].image.tag', value: '1', create: true }], 'v.yaml'),
    ).toThrow('list item [7] does not exist and cannot be created');
    expect(() =>
      setScalars(
        fixture('multi-document.yaml'),
        [{ path: 'image.tag', value: '1', document: 'name=db' }],
        'm.yaml',
      ),
    ).toThrow('m.yaml has no document with name=db');
    expect(() =>
      setScalars(fixture('multi-document.yaml'), [{ path: 'image.tag', value: '1', document: 5 }], 'm.yaml'),
    ).toThrow('m.yaml has no document 5 (it has 3)');
  });

  it('a path found in several documents or list items must be made unique', () => {
    expect(() =>
      setScalars(fixture('multi-document.yaml'), [{ path: 'image.tag', value: '1' }], 'm.yaml'),
    ).toThrow("m.yaml: image.tag is in documents 0, 1, 2; set the app's document to pick one");
    const twice = 'items:\n  - {name: a, tag: 1}\n  - {name: a, tag: 2}\n';
    expect(() => setScalars(twice, [{ path: 'items[name=a].tag', value: '3' }], 't.yaml')).toThrow(
      '2 items of items have name=a',
    );
  });

  it('a file that does not parse, a map where a list is expected, and a bad key path are errors', () => {
    expect(() => setScalars('a: [\n', [{ path: 'a', value: '1' }], 'broken.yaml')).toThrow(
      'broken.yaml is not valid YAML',
    );
    expect(() => setScalars('a: {b: 1}\n', [{ path: 'a[0]', value: '1' }], 'v.yaml')).toThrow(
      'v.yaml: a[0]: a is not a list',
    );
    expect(() => setScalars('a: 1\n', [{ path: 'a[x', value: '1' }], 'v.yaml')).toThrow('unclosed [');
  });

  it('an edit that would also change an alias of the value is refused', () => {
    const source = 'base:\n  tag: &tag 1.4.0\ncopy:\n  tag: *tag\n';
    expect(() => setScalars(source, [{ path: 'base.tag', value: '1.5.0' }], 'a.yaml')).toThrow(
      'would change more than those values',
    );
  });
});

describe('promote.yaml app settings for formats', () => {
  const config = (apps: string) =>
    parseConfig(
      `environments:\n  - name: dev\n    valuesFile: k.yaml\napps:\n${apps}deploy:\n  type: command\n  diff: [x]\n  apply: [x]\n`,
    );

  it('kustomizeImage becomes the image entry newTag and digest paths', () => {
    expect(config('  api:\n    kustomizeImage: registry.example.com/shop/api\n').apps.api).toEqual({
      tagPath: 'images[name=registry.example.com/shop/api].newTag',
      digestPath: 'images[name=registry.example.com/shop/api].digest',
    });
  });

  it('accepts selectors, documents and create; refuses bad ones with the key and line', () => {
    expect(
      config(
        '  api:\n    tagPath: services[name=api].image.tag\n    document: metadata.name=api\n    create: true\n',
      ).apps.api,
    ).toEqual({ tagPath: 'services[name=api].image.tag', document: 'metadata.name=api', create: true });
    expect(() => config('  api:\n    tagPath: services[name=api.image.tag\n')).toThrow(
      /apps\.api\.tagPath: must be a key path/,
    );
    expect(() => config('  api:\n    tagPath: a.b\n    document: nope\n')).toThrow(
      /apps\.api\.document: must be a document index/,
    );
    expect(() => config('  api:\n    revisionPath: a.b\n')).toThrow(/give either tagPath or kustomizeImage/);
  });
});

describe('promote validate with the field formats', () => {
  it('checks kustomize images, documents and create against the files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promote-validate-'));
    try {
      await writeFile(join(dir, 'kustomization.yaml'), fixture('kustomization.yaml'));
      await writeFile(join(dir, 'values.yaml'), fixture('multi-document.yaml'));
      const text = (apps: string) =>
        `environments:\n  - name: dev\n    valuesFile: kustomization.yaml\n  - name: prod\n    valuesFile: kustomization.yaml\napps:\n${apps}deploy:\n  type: command\n  diff: [x]\n  apply: [x]\n`;
      const file = join(dir, 'promote.yaml');
      expect(() =>
        validateConfigFile(
          file,
          text(
            '  api:\n    kustomizeImage: registry.example.com/shop/api\n  db:\n    tagPath: images[name=db].newTag\n    create: true\n',
          ),
        ),
      ).not.toThrow();
      expect(() => validateConfigFile(file, text('  db:\n    kustomizeImage: db\n'))).toThrow(
        /apps\.db\.tagPath: kustomization\.yaml has no key images\[name=db\]\.newTag/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
