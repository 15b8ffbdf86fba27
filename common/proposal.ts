/** Where a manual environment's proposals live unless promote.yaml says otherwise. */
export const DEFAULT_PROPOSAL_BRANCH = 'promote/{env}/{promotion}';

/**
 * The proposal branch of one promotion in one environment: `{env}` and `{promotion}` in the template
 * are replaced (shared with workflows: no Node APIs). Characters git refuses in a ref become `-`.
 */
export function proposalBranchName(template: string, env: string, promotion: string): string {
  return template.split('{env}').join(safe(env)).split('{promotion}').join(safe(promotion));
}

/** What `{env}` and `{promotion}` become: only characters git takes in a ref, no `..`. */
function safe(text: string): string {
  return text.replace(/[^A-Za-z0-9._/-]+/g, '-').replace(/\.\.+/g, '.');
}

/**
 * Whether some promotion's proposal branch in `env` could be named `branch`: a proposal pushed (force)
 * or deleted there would rewrite or remove the deployment branch itself.
 */
export function proposalBranchCanBe(template: string, env: string, branch: string): boolean {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = template
    .split('{promotion}')
    .map((part) =>
      part
        .split('{env}')
        .map(escape)
        .join(escape(safe(env))),
    )
    .join('[A-Za-z0-9._/-]+');
  return new RegExp(`^${pattern}$`).test(branch);
}

/** A template must name the promotion: two promotions never share a proposal branch. */
export function proposalTemplateProblem(template: string): string | undefined {
  if (!template.includes('{promotion}'))
    return 'must contain {promotion} (each promotion has its own branch)';
  if (/[\s~^:?*[\\]|\.\.|^\/|\/$|\.lock$|@\{/.test(proposalBranchName(template, 'e', 'p')))
    return 'must be a valid git branch name once {env} and {promotion} are filled in';
  return undefined;
}
