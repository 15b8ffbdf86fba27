import { describe, expect, it } from '@jest/globals';
import { ConfigError, parseConfig } from '../config/load.js';

/**
 * A wait longer than Temporal keeps a workflow comfortably is refused when promote.yaml is read, not
 * discovered weeks later: `approvalTimeout` is at most 30 days.
 */
const config = (timeout: string) =>
  parseConfig(
    `environments:\n  - name: prod\n    valuesFile: p.yaml\n    approval: manual\n    approvalTimeout: ${timeout}\napps:\n  api:\n    tagPath: image.tag\ndeploy:\n  type: command\n  diff: [x]\n  apply: [x]\n`,
  );

describe('approvalTimeout', () => {
  it('accepts up to 30 days', () => {
    expect(config('30d').environments[0]?.approvalTimeout).toBe(30 * 86_400_000);
    expect(config('72h').environments[0]?.approvalTimeout).toBe(72 * 3_600_000);
  });

  it('refuses more than 30 days with a ConfigError naming the key and the cap', () => {
    for (const timeout of ['31d', '721h', '2592000001ms']) {
      let error: unknown;
      try {
        config(timeout);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('approvalTimeout');
      expect((error as Error).message).toContain('30d');
    }
  });
});
