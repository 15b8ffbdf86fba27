/** Where a manual environment's proposals live unless promote.yaml says otherwise. */
export const DEFAULT_PROPOSAL_BRANCH = 'promote/{env}/{promotion}';

/**
 * The proposal branch of one promotion in one environment: `{env}` and `{promotion}` in the template
 * are replaced (shared with workflows: no Node APIs). Characters git refuses in a ref become `-`.
 */
export function proposalBranchName(template: string, env: string, promotion: string): string {
  const safe = (text: string) => text.replace(/[^A-Za-z0-9._/-]+/g, '-').replace(/\.\.+/g, '.');
  return template.split('{env}').join(safe(env)).split('{promotion}').join(safe(promotion));
}

/** A template must name the promotion: two promotions never share a proposal branch. */
export function proposalTemplateProblem(template: string): string | undefined {
  if (!template.includes('{promotion}'))
    return 'must contain {promotion} (each promotion has its own branch)';
  if (/[\s~^:?*[\\]|\.\.|^\/|\/$|\.lock$|@\{/.test(proposalBranchName(template, 'e', 'p')))
    return 'must be a valid git branch name once {env} and {promotion} are filled in';
  return undefined;
}
