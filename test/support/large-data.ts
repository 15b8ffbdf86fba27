import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestRepo } from './repo.js';

const run = promisify(execFile);

/**
 * A few thousand lines of real-chart-like YAML after the app blocks, mostly multi-byte text ("é",
 * "日本", emoji) in lines of varying length, so that wherever a pipe splits the output (every 4 or 64
 * KiB) a character is cut in half.
 */
export function largeValuesTail(minBytes: number): string {
  const words = ['é', '日本', '😀', 'ß', 'Ωμέγα', '中文字幕', '🚀🌍', 'naïve', '✓'];
  const lines = [
    '# Katalog — 日本語のコメント: every byte below must survive a promotion unchanged 😀',
    'catalog:',
  ];
  let bytes = 0;
  for (let i = 0; bytes < minBytes; i++) {
    const text = Array.from({ length: 8 + (i % 13) }, (_, j) => words[(i + j) % words.length]).join(' ');
    const line = `  item${String(i).padStart(6, '0')}: "${text}"${i % 5 === 0 ? `   # ${words[i % words.length]} note` : ''}`;
    lines.push(line);
    bytes += Buffer.byteLength(line) + 1;
  }
  return `${lines.join('\n')}\n`;
}

/** A blob's exact bytes, read without Promote's own git runner (whose reading is what is under test). */
export async function blobBytes(repoDir: string, rev: string, path: string): Promise<Buffer> {
  const { stdout } = await run('git', ['cat-file', 'blob', `${rev}:${path}`], {
    cwd: repoDir,
    encoding: 'buffer',
    maxBuffer: 1 << 30,
  });
  return stdout;
}

/**
 * Commits `file` with a {@link largeValuesTail} of 1.2 MB appended (`message` says why): returns that
 * commit and the file's exact bytes in it.
 */
export async function commitLargeValues(
  repo: TestRepo,
  file: string,
  message: string,
): Promise<{ head: string; original: Buffer }> {
  const head = await repo.commitFile(file, (await repo.file(file)) + largeValuesTail(1_200_000), message);
  return { head, original: await blobBytes(repo.url, head, file) };
}

/** The lines (as bytes) where two versions of a file differ; both must have the same line count. */
export function differingLines(
  before: Buffer,
  after: Buffer,
): { line: number; before: string; after: string }[] {
  const split = (b: Buffer) => {
    const out: Buffer[] = [];
    let start = 0;
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, start)) {
      out.push(b.subarray(start, i));
      start = i + 1;
    }
    out.push(b.subarray(start));
    return out;
  };
  const [a, b] = [split(before), split(after)];
  if (a.length !== b.length) throw new Error(`line count changed: ${a.length} → ${b.length}`);
  return a.flatMap((line, i) =>
    line.equals(b[i] ?? Buffer.alloc(0))
      ? []
      : [{ line: i, before: line.toString(), after: (b[i] ?? '').toString() }],
  );
}

/**
 * Appends `count` commits to `branch` of a bare repository at once with `git fast-import` (seconds,
 * not minutes): each changes `path` and carries another promotion's Promote trailers, as a busy
 * deployment branch would.
 */
export async function appendCommits(
  repoDir: string,
  branch: string,
  count: number,
  path: string,
): Promise<string> {
  const { stdout: tip } = await run('git', ['rev-parse', `refs/heads/${branch}`], { cwd: repoDir });
  const parts: string[] = [];
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  for (let i = 0; i < count; i++) {
    const message = `feat(dev): update web to 9.${i}.0\n\nPromote-Id: other-promotion-${i}\nPromote-Env: dev\nPromote-Action: bump\n`;
    parts.push(
      `commit refs/heads/${branch}\n`,
      `committer Someone Else <else@example.com> ${1_700_000_000 + i} +0000\n`,
      data(message),
      i === 0 ? `from ${tip.trim()}\n` : '',
      `M 100644 inline ${path}\n`,
      data(`change ${i}\n`),
    );
  }
  await fastImport(repoDir, parts.join(''));
  const { stdout } = await run('git', ['rev-parse', `refs/heads/${branch}`], { cwd: repoDir });
  return stdout.trim();
}

/** Runs `git fast-import` on a stream built in memory. */
async function fastImport(repoDir: string, stream: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('git', ['fast-import', '--quiet'], {
      cwd: repoDir,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`git fast-import failed: ${stderr}`)),
    );
    child.stdin.end(stream);
  });
}

/** One commit on `branch` adding `paths`, all with the same content (one blob): a big tree, quickly. */
export async function commitManyFiles(
  repoDir: string,
  branch: string,
  paths: readonly string[],
  content: string,
): Promise<string> {
  const { stdout: tip } = await run('git', ['rev-parse', `refs/heads/${branch}`], { cwd: repoDir });
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const stream = [
    'blob\nmark :1\n',
    data(content),
    `commit refs/heads/${branch}\n`,
    'committer Someone Else <else@example.com> 1700000000 +0000\n',
    data('chore: vendor every chart'),
    `from ${tip.trim()}\n`,
    ...paths.map((p) => `M 100644 :1 ${p}\n`),
  ].join('');
  await fastImport(repoDir, stream);
  const { stdout } = await run('git', ['rev-parse', `refs/heads/${branch}`], { cwd: repoDir });
  return stdout.trim();
}
