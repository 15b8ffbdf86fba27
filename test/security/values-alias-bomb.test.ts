import { describe, expect, it } from '@jest/globals';
import { readScalars, setScalars, ValuesKeyError } from '../../activities/values-file.js';

/** A "billion laughs" values file: each line doubles the previous by aliases. Small text, huge value. */
function aliasBomb(levels: number): string {
  const lines = ['a0: &a0 ["lol", "lol"]'];
  for (let i = 1; i <= levels; i++)
    lines.push(`a${i}: &a${i} [*a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}]`);
  return `${lines.join('\n')}\napi:\n  image:\n    tag: "1.4.0"\n`;
}

describe('a values file that is an alias bomb', () => {
  it('is refused as bad input (ValuesKeyError: permanent, not retried), not a crash', () => {
    const bomb = aliasBomb(12);
    let thrown: unknown;
    try {
      setScalars(bomb, [{ path: 'api.image.tag', value: '1.5.0' }], 'environments/dev.yaml');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValuesKeyError);
    expect(String((thrown as Error).message)).toMatch(/environments\/dev\.yaml.*alias/i);
  });

  it('still reads the tags of an ordinary file with a few anchors', () => {
    const text = 'base: &base {replicas: 1}\napi:\n  <<: *base\n  image:\n    tag: "1.4.0"\n';
    expect(readScalars(text, ['api.image.tag'], 'environments/dev.yaml').get('api.image.tag')).toBe('1.4.0');
  });
});
