import { cpus, loadavg, totalmem, release } from 'node:os';
import { git } from '../activities/git.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  git: string;
  /** 1-minute load average when the benchmark started and ended: how shared the machine was. */
  loadAtStart: number;
  loadAtEnd?: number;
}

export async function describeMachine(): Promise<Machine> {
  const cpuList = cpus();
  return {
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    git: (await git(['--version'], { cwd: process.cwd() })).trim().replace(/^git version /, ''),
    loadAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

export function currentLoad(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}
