/** `github:owner/repo`: a deployment repository the worker reaches through the GitHub API, not git. */
const GITHUB_SPEC = /^github:([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/;

export function parseGitHubSpec(repo: string): { owner: string; repo: string } | undefined {
  const match = GITHUB_SPEC.exec(repo);
  return match ? { owner: match[1] ?? '', repo: match[2] ?? '' } : undefined;
}
