import { z } from 'zod';

const name = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]*$/,
    'must be lower-case letters, digits and dashes, starting with a letter or digit',
  );

const repoPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), {
    message: 'must be a path inside the repository (relative, without "..")',
  });

const keyPath = z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, 'must be a dotted key path such as a.image.tag');

const argv = z.array(z.string()).min(1, 'must name a command');

export const EnvironmentSchema = z.strictObject({
  name,
  valuesFile: repoPath,
  approval: z.enum(['auto', 'manual']).default('auto'),
  approvers: z.array(z.string().min(1)).min(1).optional(),
});

export const AppSchema = z.strictObject({
  tagPath: keyPath,
  revisionPath: keyPath.optional(),
});

export const CommandDeploySchema = z.strictObject({
  type: z.literal('command'),
  diff: argv,
  apply: argv,
});

export const ConfigSchema = z
  .strictObject({
    branch: z.string().min(1).default('main'),
    environments: z.array(EnvironmentSchema).min(1, 'must list at least one environment'),
    apps: z
      .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/), AppSchema)
      .refine((a) => Object.keys(a).length > 0, {
        message: 'must define at least one app',
      }),
    // A discriminated union so helm/helmfile deployers can join without touching the command one.
    deploy: z.discriminatedUnion('type', [CommandDeploySchema]),
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
  });

export type PromoteConfig = z.infer<typeof ConfigSchema>;
export type EnvironmentConfig = PromoteConfig['environments'][number];
export type AppConfig = PromoteConfig['apps'][string];
export type DeployConfig = PromoteConfig['deploy'];
