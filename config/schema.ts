import { z } from 'zod';
import { EnvironmentNotificationsSchema, NotificationsSchema } from './notifications.js';
import { helmDeployProblems, HelmDeploySchema, HelmfileDeploySchema, repoFile } from './helm-schema.js';
import { keyPathProblem, parseSelector } from '../common/key-path.js';
import { expandApprovers } from '../common/approval-policy.js';
import { DEFAULT_PROPOSAL_BRANCH, proposalBranchCanBe, proposalTemplateProblem } from '../common/proposal.js';
import { MAX_APPROVAL_TIMEOUT_MS } from '../common/constants.js';
import { FreezesSchema, WindowsSchema } from './governance.js';

const name = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]*$/,
    'must be lower-case letters, digits and dashes, starting with a letter or digit',
  );

// Same rules as the helm/helmfile paths: inside the repository and never a flag.
const repoPath = repoFile;

const keyPath = z.string().superRefine((path, ctx) => {
  const problem = keyPathProblem(path);
  if (problem) {
    ctx.addIssue({
      code: 'custom',
      message: `must be a key path such as a.image.tag or services[name=api].image.tag (${problem})`,
    });
  }
});

/** A document of a multi-document values file: its index, or `field.path=value`. */
const documentSelector = z.union([
  z.number().int().min(0),
  z.string().refine((s) => {
    try {
      return parseSelector(s, s).kind === 'match';
    } catch {
      return false;
    }
  }, 'must be a document index or a field.path=value selector such as metadata.name=api'),
]);

const proposalBranch = z.string().superRefine((template, ctx) => {
  const problem = proposalTemplateProblem(template);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const argv = z.array(z.string()).min(1, 'must name a command');

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration such as `30m`, `72h` or `7d`, as milliseconds. */
export const durationMs = z
  .string()
  .regex(/^[1-9][0-9]*(ms|s|m|h|d)$/, 'must be a duration such as 30m, 72h or 7d')
  .transform((text) => {
    const [, amount = '0', unit = 'ms'] = /^([0-9]+)(ms|s|m|h|d)$/.exec(text) ?? [];
    return Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  });

export { DEFAULT_APPROVAL_TIMEOUT_MS } from '../common/constants.js';

export const EnvironmentSchema = z.strictObject({
  name,
  valuesFile: repoPath,
  approval: z.enum(['auto', 'manual']).default('auto'),
  /** People, or names of `approverGroups`, who may decide for this environment (default: anyone). */
  approvers: z.array(z.string().min(1)).min(1).optional(),
  /** How many distinct people must approve (default 1); a rejection by any approver ends it. */
  minApprovals: z.number().int().min(1).max(20).optional(),
  /** Let the person (or CI actor) who started a promotion approve it here (default: refused). */
  allowSelfApproval: z.boolean().optional(),
  /** How long a manual approval may wait before the promotion fails and is compensated. */
  approvalTimeout: durationMs
    .refine((ms) => ms <= MAX_APPROVAL_TIMEOUT_MS, 'must be at most 30d (720h)')
    .optional(),
  /** `required`: every decision must be signed with an SSH key listed in `allowedSigners` (docs/signed-approvals.md). */
  signedApprovals: z.enum(['required']).optional(),
  /**
   * For `--only`: the environment whose live tags this one requires (default: the previous one);
   * `none` lets it be deployed directly.
   */
  requires: z.string().min(1).optional(),
  notifications: EnvironmentNotificationsSchema.optional(),
  /**
   * Manual environments propose their bump on a branch and wait for approval without holding the
   * environment (default). `false`: bump on the deployment branch and hold the environment through the
   * approval, as before proposals existed.
   */
  proposals: z.boolean().optional(),
  /** How long a promotion may wait for this environment's lock before it fails, naming the holder. */
  lockTimeout: durationMs.optional(),
  /** Manual environments: the proposal branch template (`{env}`, `{promotion}`); overrides the global one. */
  proposalBranch: proposalBranch.optional(),
  /** When this environment may be deployed (replaces the global `windows`): docs/governance.md. */
  windows: WindowsSchema.optional(),
  /** Dated ranges when this environment is closed (added to the global `freezes`). */
  freezes: FreezesSchema.optional(),
  /** How long the tag must run here, after its apply succeeded, before the next environment starts. */
  soak: durationMs.optional(),
});

export const AppSchema = z
  .strictObject({
    tagPath: keyPath.optional(),
    revisionPath: keyPath.optional(),
    /** Where the digest of `tag@sha256:…` goes (the tag path then gets the tag alone). */
    digestPath: keyPath.optional(),
    /** A kustomization.yaml `images:` entry by name: sets its `newTag` (and `digest`). */
    kustomizeImage: z
      .string()
      .regex(/^[^\]\s]+$/, 'must be an image name')
      .optional(),
    /** Which document of a multi-document values file holds the app's values. */
    document: documentSelector.optional(),
    /** Create the keys when a values file lacks them instead of failing. */
    create: z.boolean().optional(),
  })
  .superRefine((app, ctx) => {
    if ((app.tagPath === undefined) === (app.kustomizeImage === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['tagPath'], message: 'give either tagPath or kustomizeImage' });
    }
  })
  // Kustomize is a key path like any other: later steps only see tag and digest paths.
  .transform(({ kustomizeImage, ...app }) => ({
    ...app,
    tagPath: app.tagPath ?? `images[name=${kustomizeImage}].newTag`,
    ...(kustomizeImage ? { digestPath: app.digestPath ?? `images[name=${kustomizeImage}].digest` } : {}),
  }));

/** Where the repository is hosted: plain git (the default), or GitHub through its API. */
export const RepositorySchema = z.discriminatedUnion('provider', [
  z.strictObject({ provider: z.literal('git') }),
  z.strictObject({
    provider: z.literal('github'),
    owner: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be a GitHub owner'),
    repo: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be a GitHub repository name'),
    /** An enterprise server's API, e.g. https://ghe.example.com/api/v3 (the worker's PROMOTE_GITHUB_API_URL). */
    baseUrl: z.url().optional(),
  }),
]);

/** A GitHub login: letters, digits and single dashes, at most 39 characters. */
const githubLogin = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/, 'must be a GitHub login such as octo-cat');

/** `github:` pull request reviews as approvals (docs/github.md). */
export const GitHubReviewsSchema = z.strictObject({
  /** Approver name (as in `approvers`) → GitHub login: that login's reviews count as the approver's decisions. */
  users: z.record(z.string().min(1), githubLogin).optional(),
  /**
   * How often a waiting proposal reads its pull request's reviews when no webhook nudged it (default
   * 1m, doubling to 15m while nothing changes); `off` where `promote github` receives webhooks.
   */
  reviewPoll: z.union([z.literal('off'), durationMs]).optional(),
});

export const CommandDeploySchema = z.strictObject({
  type: z.literal('command'),
  diff: argv,
  apply: argv,
  /** Undo an apply; without it, compensation re-runs `apply` at the revert commit. */
  rollback: argv.optional(),
  /** Prints the commit currently deployed (first line); lets a retried apply skip work already done. */
  status: argv.optional(),
});

export const ConfigSchema = z
  .strictObject({
    branch: z.string().min(1).default('main'),
    repository: RepositorySchema.optional(),
    environments: z.array(EnvironmentSchema).min(1, 'must list at least one environment'),
    apps: z
      .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/), AppSchema)
      .refine((a) => Object.keys(a).length > 0, {
        message: 'must define at least one app',
      }),
    // A discriminated union so helm/helmfile deployers can join without touching the command one.
    deploy: z.discriminatedUnion('type', [CommandDeploySchema, HelmDeploySchema, HelmfileDeploySchema]),
    notifications: NotificationsSchema.optional(),
    /** Proposal branch template for every manual environment (default promote/{env}/{promotion}). */
    proposalBranch: proposalBranch.optional(),
    /** Who may sign approvals: an ssh allowed_signers file, read from the deployment branch (default .promote/allowed_signers). */
    allowedSigners: repoPath.optional(),
    /** Pull request reviews as approvals: who is who on GitHub, and how often reviews are polled. */
    github: GitHubReviewsSchema.optional(),
    /** Named groups of approvers, defined once: an environment's `approvers` may name a group. */
    approverGroups: z
      .record(
        z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a group name'),
        z.array(z.string().min(1)).min(1, 'must list at least one person'),
      )
      .optional(),
    /** When every environment without windows of its own may be deployed: docs/governance.md. */
    windows: WindowsSchema.optional(),
    /** Dated ranges when every environment is closed, with a reason. */
    freezes: FreezesSchema.optional(),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.environments.forEach((env, i) => {
      if (seen.has(env.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['environments', i, 'name'],
          message: `duplicate environment "${env.name}"`,
        });
      }
      seen.add(env.name);
    });
    config.environments.forEach((env, i) => {
      if (env.notifications?.slack && !config.notifications?.slack) {
        ctx.addIssue({
          code: 'custom',
          path: ['environments', i, 'notifications', 'slack'],
          message: 'needs notifications.slack at the top level (its users and default channel)',
        });
      }
      if (env.requires === undefined || env.requires === 'none') return;
      const target = config.environments.findIndex((e) => e.name === env.requires);
      if (target < 0 || target >= i) {
        ctx.addIssue({
          code: 'custom',
          path: ['environments', i, 'requires'],
          message: `must name an earlier environment or "none", not "${env.requires}"`,
        });
      }
    });
    config.environments.forEach((env, i) => {
      if (env.minApprovals !== undefined && env.approval !== 'manual') {
        ctx.addIssue({
          code: 'custom',
          path: ['environments', i, 'minApprovals'],
          message: 'needs approval: manual',
        });
      }
      const people = expandApprovers(env.approvers, config.approverGroups);
      if (people && env.minApprovals !== undefined && env.minApprovals > people.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['environments', i, 'minApprovals'],
          message: `needs ${env.minApprovals} distinct approvers, but ${env.name}'s approvers are only ${people.join(', ')}`,
        });
      }
    });
    // One login is one person: a login mapped to two approvers would let one review count twice.
    const logins = new Map<string, string>();
    for (const [person, login] of Object.entries(config.github?.users ?? {})) {
      const other = logins.get(login.toLowerCase());
      if (other) {
        ctx.addIssue({
          code: 'custom',
          path: ['github', 'users', person],
          message: `GitHub login ${login} is already mapped to ${other}: one login is one approver`,
        });
      }
      logins.set(login.toLowerCase(), person);
    }
    // A proposal is force-pushed to its branch and deleted when dropped: never the deployment branch.
    config.environments.forEach((env, i) => {
      if (env.approval !== 'manual' || env.proposals === false) return;
      const template = env.proposalBranch ?? config.proposalBranch ?? DEFAULT_PROPOSAL_BRANCH;
      if (proposalBranchCanBe(template, env.name, config.branch)) {
        ctx.addIssue({
          code: 'custom',
          path: ['branch'],
          message: `"${config.branch}" could be a proposal branch of ${env.name} (${template}): proposals are force-pushed and deleted, so the deployment branch must not match environments[${i}]'s proposal branch template`,
        });
      }
    });
    for (const problem of helmDeployProblems(config.deploy, seen, new Set(Object.keys(config.apps))))
      ctx.addIssue({ code: 'custom', ...problem });
  });

export type PromoteConfig = z.infer<typeof ConfigSchema>;
export type EnvironmentConfig = PromoteConfig['environments'][number];
export type DeployConfig = PromoteConfig['deploy'];
export type AppConfig = PromoteConfig['apps'][string];
