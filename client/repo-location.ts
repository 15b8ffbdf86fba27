import { resolve } from 'node:path';
import { fileUrlPath, isLocalPath } from '../common/repo-location.js';

/**
 * The worker runs in its own directory, maybe on another day, so a path the user typed is resolved
 * here, against the directory they typed it in. `file://` URLs keep their scheme (git then uses its
 * file transport rather than hard links); URLs and scp-like addresses are sent as they are.
 */
export function resolveRepoLocation(repo: string, cwd: string = process.cwd()): string {
  const urlPath = fileUrlPath(repo);
  if (urlPath !== undefined) return `file://${resolve(cwd, urlPath)}`;
  if (isLocalPath(repo)) return resolve(cwd, repo);
  return repo;
}
