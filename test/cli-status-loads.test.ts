import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../server/tools.js';
import { modulesLoadedBy } from './support/loaded-modules.js';
import { useTemporal } from './support/suite.js';

const PROMOTE = join(PROJECT_ROOT, 'bin', 'promote.js');

/**
 * Everything `promote status` may load from node_modules to ask the server: the Temporal client and
 * what it needs for gRPC (its protobuf API, grpc-js), the standard connection settings, and commander.
 * Not the workflow SDK, the worker, OpenTelemetry (off unless PROMOTE_OTLP_ENDPOINT), YAML or zod.
 */
const ALLOWED = [
  '@grpc/grpc-js',
  '@js-sdsl/ordered-map',
  '@temporalio/client',
  '@temporalio/common',
  '@temporalio/envconfig',
  '@temporalio/proto',
  'commander',
  'long',
  'ms',
  'nexus-rpc',
  'protobufjs',
  'smol-toml',
  'uuid',
];

function packageOf(url: string): string | undefined {
  const at = url.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const [scope = '', name = ''] = url.slice(at + 'node_modules/'.length).split('/');
  return scope.startsWith('@') ? `${scope}/${name}` : scope;
}

const suite = useTemporal();

describe('promote status answers at once', () => {
  it('reaches the server loading only the client and its gRPC stack', async () => {
    const { exitCode, modules } = await modulesLoadedBy([PROMOTE, 'status', 'promote-never-started'], {
      TEMPORAL_ADDRESS: suite.temporal.address,
      PROMOTE_OTLP_ENDPOINT: '',
    });
    // The server answered (an unknown id), so the whole query path ran.
    expect(exitCode).toBe(2);
    const packages = [...new Set(modules.map(packageOf).filter((p) => p !== undefined))].sort();
    expect(packages).toContain('@temporalio/client');
    expect(packages.filter((p) => !ALLOWED.includes(p))).toEqual([]);
  });
});
