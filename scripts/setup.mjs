#!/usr/bin/env node
// First-run set-up shared by `npm test` and `npm run demo`: a fresh clone must need nothing else.
// Uses only Node built-ins because it runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, statSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');

function log(message) {
  if (!quiet) process.stderr.write(`[setup] ${message}\n`);
}

function run(cmd, args) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    process.stderr.write(`[setup] '${cmd} ${args.join(' ')}' exited with ${result.status}\n`);
    process.exit(result.status ?? 1);
  }
}

function hashOf(file) {
  return createHash('sha256')
    .update(readFileSync(join(root, file)))
    .digest('hex');
}

// 1. Dependencies: reinstall only when package.json or package-lock.json changed since the last install.
// `npm install` rather than `npm ci`: npm 11 leaves other platforms' optional packages (@swc/core-*)
// out of the lock file, which `npm ci` then refuses as out of sync; `npm install` still follows the lock.
const stamp = join(root, 'node_modules', '.promote-lock-hash');
const lockHash = hashOf('package.json') + hashOf('package-lock.json');
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lockHash) {
  log('installing npm dependencies…');
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error']);
  writeFileSync(stamp, hashOf('package.json') + hashOf('package-lock.json'));
}

// 2. Build: compile when any source is newer than the last build.
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}
const sourceDirs = [
  'activities',
  'bench',
  'client',
  'config',
  'common',
  'demo',
  'server',
  'test',
  'worker',
  'workflows',
];
const sourcesNewest = Math.max(
  statSync(join(root, 'tsconfig.json')).mtimeMs,
  ...sourceDirs.filter((d) => existsSync(join(root, d))).map((d) => newestMtime(join(root, d))),
);
const buildStamp = join(root, 'dist', '.build-stamp');
if (!existsSync(buildStamp) || statSync(buildStamp).mtimeMs < sourcesNewest) {
  log('compiling TypeScript…');
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
  writeFileSync(buildStamp, new Date().toISOString());
}

// 3. The Temporal CLI (dev server) and, for time-skipping tests, the test server.
run(process.execPath, [join(root, 'dist', 'server', 'install-cli.js')]);

// 4. Debian packages the tests drive for real (`npm test` only): Chromium for the Web UI test (driven
//    by playwright-core) and OpenSSH's server for git over SSH.
const chromium = process.env.PROMOTE_CHROMIUM_PATH ?? '/usr/bin/chromium';
const missing = [
  ...(existsSync(chromium) ? [] : ['chromium']),
  ...(existsSync('/usr/sbin/sshd') ? [] : ['openssh-server']),
];
if (process.env.npm_lifecycle_event === 'test' && missing.length > 0) {
  log(`installing ${missing.join(' and ')} with apt-get for the tests…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', ...missing],
  ]) {
    const result = spawnSync('apt-get', args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
    if (result.status !== 0) {
      process.stderr.write(
        `[setup] 'apt-get ${args.join(' ')}' failed: install Debian's ${missing.join(' and ')} (root), or set PROMOTE_CHROMIUM_PATH\n`,
      );
      process.exit(1);
    }
  }
}
