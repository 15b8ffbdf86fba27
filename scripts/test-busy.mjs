#!/usr/bin/env node
// `npm run test:busy`: the test suites with every core kept busy by CPU burners, several times over,
// so timing assumptions that only hold on an idle machine show up here rather than in CI.
//
//   npm run test:busy                      # the unit suite, 5 runs, one burner per core
//   npm run test:busy -- --runs 2 --e2e    # also `npm run test:e2e` in every run
//   npm run test:busy -- --burners 4 -- dist/test/semantics.test.js   # jest arguments after --
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const separator = process.argv.indexOf('--', 2);
const own = separator === -1 ? process.argv.slice(2) : process.argv.slice(2, separator);
const jestArgs = separator === -1 ? [] : process.argv.slice(separator + 1);
const { values } = parseArgs({
  args: own,
  options: {
    runs: { type: 'string', default: '5' },
    burners: { type: 'string', default: String(availableParallelism()) },
    e2e: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const burnerCount = Number(values.burners);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(burnerCount) || burnerCount < 0) {
  process.stderr.write('usage: test-busy [--runs N] [--burners N] [--e2e] [-- jest args]\n');
  process.exit(2);
}

// Set-up once, on an idle machine: installing is not what this measures.
const setup = spawnSync(process.execPath, [join(root, 'scripts', 'setup.mjs')], {
  cwd: root,
  stdio: 'inherit',
});
if (setup.status !== 0) process.exit(setup.status ?? 1);

// A busy loop per core, in its own process so the scheduler shares cores exactly as with real load.
const burners = Array.from({ length: burnerCount }, () =>
  spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
);
const stopBurners = () => burners.forEach((b) => b.kill('SIGKILL'));
process.on('exit', stopBurners);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopBurners();
    process.exit(130);
  });
}

function run(script, extra) {
  const started = Date.now();
  const result = spawnSync('npm', ['run', '--silent', script, '--', ...extra], {
    cwd: root,
    stdio: 'inherit',
  });
  return { ok: result.status === 0, seconds: Math.round((Date.now() - started) / 1000) };
}

const outcomes = [];
for (let i = 1; i <= runs; i++) {
  process.stderr.write(`\n[test:busy] run ${i}/${runs} with ${burnerCount} CPU burner(s)\n`);
  const unit = run('test:run', jestArgs);
  const e2e = values.e2e ? run('test:e2e', []) : undefined;
  outcomes.push({ run: i, unit, ...(e2e ? { e2e } : {}) });
}
stopBurners();

process.stderr.write('\n[test:busy] summary\n');
for (const o of outcomes) {
  const parts = [`unit ${o.unit.ok ? 'passed' : 'FAILED'} in ${o.unit.seconds}s`];
  if (o.e2e) parts.push(`e2e ${o.e2e.ok ? 'passed' : 'FAILED'} in ${o.e2e.seconds}s`);
  process.stderr.write(`  run ${o.run}: ${parts.join(', ')}\n`);
}
const failed = outcomes.filter((o) => !o.unit.ok || (o.e2e && !o.e2e.ok)).length;
process.stderr.write(failed === 0 ? `all ${runs} runs passed\n` : `${failed} of ${runs} runs failed\n`);
process.exit(failed === 0 ? 0 : 1);
