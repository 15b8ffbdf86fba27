// `deploy.type: helm` and `deploy.type: helmfile`: kept beside schema.ts so the command deployer's
// schema stays as it was.
import { z } from 'zod';

const argv = z.array(z.string()).min(1, 'must name a command');

/**
 * A file or folder of the deployment repository that a helm/helmfile command is given: relative,
 * without `..`, and never a flag (the deployer also resolves symlinks before passing it).
 */
export const repoFile = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('-'), { message: 'must not start with "-" (it would be read as a flag)' })
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..') && !p.includes('\0'), {
    message: 'must be a path inside the repository (relative, without "..")',
  });

/** A chart: a folder in the repository, or a `repo/chart` / `oci://…` reference; never a flag or a path out. */
const chartRef = z
  .string()
  .min(1)
  .refine((c) => !c.startsWith('-'), { message: 'must not start with "-" (it would be read as a flag)' })
  .refine((c) => !c.startsWith('/') && !c.split('/').includes('..'), {
    message: 'must be a folder inside the repository (relative, without "..") or a chart reference',
  });

/** A value passed after a flag (`--kube-context X`): never itself a flag. */
const notFlag = z
  .string()
  .min(1)
  .refine((v) => !v.startsWith('-'), { message: 'must not start with "-" (it would be read as a flag)' });

/** Helm's own duration syntax (`--timeout`), e.g. 90s, 5m, 1h. */
const helmDuration = z.string().regex(/^[1-9][0-9]*(s|m|h)$/, 'must be a duration such as 90s, 5m or 1h');

const k8sName = z.string().refine((s) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s.replaceAll('{env}', 'x')), {
  message: 'must be a lower-case DNS label (letters, digits, dashes), optionally with {env}',
});

/** What each environment may override: where its releases go, and its smoke test. */
const HelmTargetSchema = z.strictObject({
  /** Default: the environment's name (environments are namespaces). */
  namespace: k8sName.optional(),
  /** A context of the worker's kubeconfig; default: its current context. */
  kubeContext: notFlag.optional(),
  timeout: helmDuration.optional(),
  /** A smoke test run after the apply, in the checkout; a non-zero exit fails the step and rolls back. */
  verify: argv.optional(),
});

export const HelmReleaseSchema = z.strictObject({
  /** The release name; `{env}` is replaced. */
  name: k8sName,
  /** A chart folder in the deployment repository, or `repo/chart` / `oci://…` with `version`. */
  chart: chartRef,
  version: notFlag.optional(),
  /** Values files in the repository; `{env}` is replaced. Default: the environment's `valuesFile`. */
  valuesFiles: z.array(repoFile).min(1).optional(),
  /** The apps whose tags this release carries (default: all); verify checks them in `helm get values`. */
  apps: z.array(z.string().min(1)).min(1).optional(),
  namespace: k8sName.optional(),
});

const common = {
  ...HelmTargetSchema.shape,
  /** Per-environment overrides, keyed by environment name. */
  environments: z.record(z.string(), HelmTargetSchema).optional(),
};

export const HelmDeploySchema = z.strictObject({
  type: z.literal('helm'),
  releases: z.array(HelmReleaseSchema).min(1, 'must list at least one release'),
  /**
   * A release found `pending-install` with no deployed revision to roll back to, left by an
   * interrupted first install: `uninstall` it (default) and install again, or `fail` for a person.
   */
  pendingInstall: z.enum(['uninstall', 'fail']).default('uninstall'),
  ...common,
});

export const HelmfileDeploySchema = z.strictObject({
  type: z.literal('helmfile'),
  /** `helmfile -e <env> apply` (default) or `sync`. */
  command: z.enum(['apply', 'sync']).default('apply'),
  /** The helmfile in the repository (default: helmfile's own lookup, helmfile.yaml). */
  file: repoFile.optional(),
  pendingInstall: z.enum(['uninstall', 'fail']).default('uninstall'),
  ...common,
});

export type HelmDeployConfig = z.infer<typeof HelmDeploySchema>;
export type HelmfileDeployConfig = z.infer<typeof HelmfileDeploySchema>;
export type HelmTarget = z.infer<typeof HelmTargetSchema>;

/** Names in the helm/helmfile settings that must match the environments and apps of promote.yaml. */
export function helmDeployProblems(
  deploy: { type: string; environments?: Record<string, unknown>; releases?: { apps?: string[] }[] },
  environments: ReadonlySet<string>,
  apps: ReadonlySet<string>,
): { path: (string | number)[]; message: string }[] {
  if (deploy.type === 'command') return [];
  const problems: { path: (string | number)[]; message: string }[] = [];
  for (const env of Object.keys(deploy.environments ?? {})) {
    if (!environments.has(env))
      problems.push({ path: ['deploy', 'environments', env], message: `unknown environment "${env}"` });
  }
  (deploy.releases ?? []).forEach((release, i) => {
    (release.apps ?? []).forEach((app, j) => {
      if (!apps.has(app))
        problems.push({ path: ['deploy', 'releases', i, 'apps', j], message: `unknown app "${app}"` });
    });
  });
  return problems;
}
