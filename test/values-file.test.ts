import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readScalars, setScalars, ValuesKeyError } from '../activities/values-file.js';
import { PROJECT_ROOT } from '../server/tools.js';

const source = readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'commented-values.yaml'), 'utf8');

/** Lines that differ, as `-old` / `+new` pairs: what `git diff` would show a reviewer. */
function changedLines(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b).toHaveLength(a.length);
  return a.flatMap((line, i) => (line === b[i] ? [] : [`-${line}`, `+${b[i]}`]));
}

describe('editing a values file', () => {
  it('changes only the promoted scalars, keeping comments, quotes, flow style and blank lines', () => {
    const { text, changes } = setScalars(
      source,
      [
        { path: 'api.image.tag', value: '1.5.0' },
        { path: 'api.image.revision', value: '9f3e2c1' },
        { path: 'web.image.tag', value: '2.1.0' },
      ],
      'prod.yaml',
    );
    expect(changedLines(source, text)).toEqual([
      '-    tag: "1.4.0"      # keep the comment aligned',
      '+    tag: "1.5.0"      # keep the comment aligned',
      '-    revision: 3f1c2a9',
      '+    revision: 9f3e2c1',
      "-  image: {repository: registry.example.com/shop/web, tag: '2.0.3'}",
      "+  image: {repository: registry.example.com/shop/web, tag: '2.1.0'}",
    ]);
    expect(changes).toEqual([
      { path: 'api.image.tag', before: '1.4.0', after: '1.5.0' },
      { path: 'api.image.revision', before: '3f1c2a9', after: '9f3e2c1' },
      { path: 'web.image.tag', before: '2.0.3', after: '2.1.0' },
    ]);
  });

  it('quotes a plain value that would otherwise read back as a number', () => {
    const { text } = setScalars(source, [{ path: 'api.image.revision', value: '1234567' }], 'prod.yaml');
    expect(changedLines(source, text)).toEqual(['-    revision: 3f1c2a9', '+    revision: "1234567"']);
    expect((parse(text) as { api: { image: { revision: unknown } } }).api.image.revision).toBe('1234567');
  });

  it('turns a numeric tag into a string tag', () => {
    const { text } = setScalars(source, [{ path: 'worker.image.tag', value: '8' }], 'prod.yaml');
    expect(changedLines(source, text)).toEqual([
      '-    tag: 7   # a number, written plain',
      '+    tag: "8"   # a number, written plain',
    ]);
  });

  it('reports no change when the value is already there', () => {
    const { text, changes } = setScalars(source, [{ path: 'api.image.tag', value: '1.4.0' }], 'prod.yaml');
    expect(text).toBe(source);
    expect(changes).toEqual([]);
  });

  it('names the file and key that is missing or not a scalar', () => {
    expect(() => setScalars(source, [{ path: 'api.image.digest', value: 'x' }], 'prod.yaml')).toThrow(
      new ValuesKeyError('prod.yaml has no key api.image.digest'),
    );
    expect(() => readScalars(source, ['api.image'], 'prod.yaml')).toThrow(
      'prod.yaml: api.image is not a scalar value',
    );
    expect(() => readScalars('a: [', ['a'], 'broken.yaml')).toThrow(/broken\.yaml is not valid YAML/);
  });

  it('reads numbers as written', () => {
    expect(readScalars(source, ['worker.image.tag', 'api.image.tag'], 'prod.yaml')).toEqual(
      new Map([
        ['worker.image.tag', '7'],
        ['api.image.tag', '1.4.0'],
      ]),
    );
  });
});
