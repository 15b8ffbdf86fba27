import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { parseConfig } from '../config/load.js';
import { PROJECT_ROOT } from '../server/tools.js';

/**
 * The README is the newcomer's page and docs/ holds one page per concept. These checks keep them from
 * rotting: every relative link leads to a file, every `promote.yaml` example is valid configuration,
 * and every command and flag the CLI reference names exists in the CLI.
 */
const DOCS_DIR = join(PROJECT_ROOT, 'docs');
const pages = readdirSync(DOCS_DIR)
  .filter((name) => name.endsWith('.md'))
  .map((name) => join(DOCS_DIR, name));
const markdownFiles = [join(PROJECT_ROOT, 'README.md'), ...pages];

function read(file: string): string {
  return readFileSync(file, 'utf8');
}

/** The fenced blocks of one language (`''` for blocks without one) in a Markdown text. */
function fencedBlocks(text: string, language: string): string[] {
  const blocks: string[] = [];
  let open: { language: string; lines: string[] } | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('```')) {
      open?.lines.push(line);
    } else if (open) {
      if (open.language === language) blocks.push(open.lines.join('\n'));
      open = undefined;
    } else {
      open = { language: line.slice(3).trim(), lines: [] };
    }
  }
  return blocks;
}

function relativeLinks(text: string): string[] {
  const withoutCode = text.replace(/^```[\s\S]*?^```/gm, '');
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] ?? '')
    .filter((target) => !/^(https?:|mailto:|#)/.test(target))
    .map((target) => target.split('#')[0] ?? '');
}

describe('the README', () => {
  it('stays a newcomer page of at most 250 lines', () => {
    expect(read(join(PROJECT_ROOT, 'README.md')).split('\n').length).toBeLessThanOrEqual(250);
  });

  it('links every page of docs/', () => {
    const linked = relativeLinks(read(join(PROJECT_ROOT, 'README.md')));
    for (const page of pages) expect(linked).toContain(`docs/${page.slice(DOCS_DIR.length + 1)}`);
  });
});

describe.each(markdownFiles.map((file) => [file.slice(PROJECT_ROOT.length + 1), file]))(
  '%s',
  (_name, file) => {
    it('has no broken relative link', () => {
      const missing = relativeLinks(read(file)).filter(
        (target) => !existsSync(resolve(dirname(file), target)),
      );
      expect(missing).toEqual([]);
    });
  },
);

/** Top-level keys of `promote.yaml`: a YAML block with one of them is a configuration example. */
const CONFIG_KEYS = [
  'environments',
  'apps',
  'deploy',
  'repository',
  'notifications',
  'branch',
  'proposalBranch',
  'windows',
  'freezes',
];
type Config = Record<string, unknown>;

/**
 * Examples show one feature at a time; each is checked on top of the reference example, the way a
 * reader would add it to their own file: its keys replace the reference's, apps and environments
 * (by name) are merged in.
 */
function withExample(base: Config, example: Config): Config {
  const merged: Config = { ...base, ...example };
  if (example.apps) merged.apps = { ...(base.apps as Config), ...(example.apps as Config) };
  if (Array.isArray(example.environments)) {
    const environments = [...(base.environments as Config[])];
    for (const env of example.environments as Config[]) {
      const at = environments.findIndex((known) => known.name === env.name);
      if (at >= 0) environments[at] = { ...environments[at], ...env };
      else environments.push({ valuesFile: `environments/${String(env.name)}.yaml`, ...env });
    }
    merged.environments = environments;
  }
  return merged;
}

describe('configuration examples in docs/', () => {
  const reference = fencedBlocks(read(join(DOCS_DIR, 'configuration.md')), 'yaml')[0] ?? '';
  const examples = pages.flatMap((file) =>
    fencedBlocks(read(file), 'yaml')
      .map((block) => ({ file: file.slice(PROJECT_ROOT.length + 1), block, value: parse(block) as unknown }))
      .filter(
        ({ value }) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.keys(value).some((key) => CONFIG_KEYS.includes(key)),
      ),
  );

  it('include the reference example, valid on its own', () => {
    expect(() => parseConfig(reference)).not.toThrow();
    expect(examples.length).toBeGreaterThan(3);
  });

  it.each(examples.map((example, index) => [`${example.file} #${index}`, example]))(
    '%s is valid configuration',
    (_name, example) => {
      if (typeof example === 'string') throw new Error('a table row is an example');
      const config = withExample(parse(reference) as Config, example.value as Config);
      expect(() => parseConfig(JSON.stringify(config))).not.toThrow();
    },
  );
});

describe('the CLI reference (docs/cli.md)', () => {
  const synopsis = (
    fencedBlocks(read(join(DOCS_DIR, 'cli.md')), '')
      .find((block) => block.startsWith('promote '))
      ?.split('\n') ?? []
  ).filter((line) => line.trim() !== '');
  // Continuation lines (options only) belong to the command above them.
  const commands = new Map<string, string[]>();
  let current = '';
  for (const line of synopsis) {
    const command = /^promote (\S+)/.exec(line)?.[1];
    if (command) current = command;
    commands.set(current, [...(commands.get(current) ?? []), ...(line.match(/--[a-z][a-z-]*/g) ?? [])]);
  }

  it('lists the commands', () => {
    expect([...commands.keys()]).toEqual(
      expect.arrayContaining(['start', 'approve', 'reject', 'status', 'list']),
    );
  });

  it.each([...commands.entries()])('promote %s has every flag it documents', async (command, flags) => {
    const help = await execa(process.execPath, [join(PROJECT_ROOT, 'bin', 'promote.js'), command, '--help'], {
      reject: false,
    });
    expect(help.exitCode).toBe(0);
    for (const flag of flags) expect(help.stdout).toContain(flag);
  });
});
