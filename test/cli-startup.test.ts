import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../server/tools.js';
import { modulesLoadedBy } from './support/loaded-modules.js';

const PROMOTE = join(PROJECT_ROOT, 'bin', 'promote.js');

/** What a command that only prints must not load: the Temporal SDK and its protobuf API cost ~0.3 s. */
const HEAVY = ['@temporalio/', 'protobufjs', '@grpc/', 'yaml/', 'zod/', '@opentelemetry/'];

describe('a CLI that answers at once', () => {
  it.each([[['--help']], [['approve', '--help']], [['start', '--help']], [['--version']]])(
    'promote %p loads nothing of Temporal, gRPC, YAML, zod or OpenTelemetry',
    async (args) => {
      const { exitCode, modules } = await modulesLoadedBy([PROMOTE, ...args]);
      expect(exitCode).toBe(0);
      expect(modules.length).toBeGreaterThan(3); // the hook saw the CLI's own modules
      expect(modules.filter((url) => HEAVY.some((heavy) => url.includes(`node_modules/${heavy}`)))).toEqual(
        [],
      );
    },
  );
});
