import { describe, expect, it } from '@jest/globals';
import { tmpdir } from 'node:os';
import { OutputTooLargeError, runCommand } from '../../activities/command.js';

// 3-byte and 4-byte characters: 64 KiB pipe chunks end inside one of them again and again.
const UNIT = '日本é😀';
const COUNT = 40_000;
const MULTI_BYTE = UNIT.repeat(COUNT);

/** A child that writes MULTI_BYTE to a stream in one go: the pipe hands it over in 64 KiB chunks. */
const writer = (stream: 'stdout' | 'stderr') => [
  process.execPath,
  '-e',
  `process.${stream}.write(${JSON.stringify(UNIT)}.repeat(${COUNT}))`,
];

describe('command output: data is never cut, shown output says what it cut', () => {
  it('keeps data whole and decodes characters split between chunks', async () => {
    expect(Buffer.byteLength(MULTI_BYTE)).toBeGreaterThan(400_000);
    const result = await runCommand(writer('stdout'), { cwd: tmpdir(), stdoutIsData: true });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.length).toBe(MULTI_BYTE.length);
    expect(result.stdout === MULTI_BYTE).toBe(true);
  });

  it('caps shown output to its tail with a marker naming the bytes cut, characters intact', async () => {
    const result = await runCommand(writer('stderr'), { cwd: tmpdir(), maxOutput: 1000 });
    const [marker = '', rest = ''] = result.stderr.split('\n');
    const kept = Buffer.byteLength(rest);
    expect(marker).toBe(`… (${Buffer.byteLength(MULTI_BYTE) - kept} bytes cut)`);
    expect(MULTI_BYTE.endsWith(rest)).toBe(true);
    expect(rest).not.toContain('\uFFFD');
  });

  it('fails clearly, never cuts, when data passes its hard limit', async () => {
    const run = runCommand(writer('stdout'), {
      cwd: tmpdir(),
      stdoutIsData: true,
      maxDataBytes: 100_000,
    });
    await expect(run).rejects.toBeInstanceOf(OutputTooLargeError);
    await expect(run).rejects.toThrow(/output exceeded 100000 bytes/);
  });
});
