// `deploy.type: helm` and `deploy.type: helmfile`. Both: repair a release left pending before the
// apply, mark each revision with the promotion, commit and revision it replaced, verify after the
// apply, roll back to the recorded revision on compensation, and read the deployed state for
// `deploy.status`, drift and announcements. They differ only in how releases are found and applied.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, CONFIG_FILE } from '../../config/load.js';
import type { HelmDeployConfig, HelmfileDeployConfig, HelmTarget } from '../../config/helm-schema.js';
import type { PromoteConfig } from '../../config/schema.js';
import type { ObservedRelease } from '../../common/types.js';
import { TRAILER } from '../bump.js';
import { runCommand } from '../command.js';
import { redact } from '../redact.js';
import { readScalars } from '../values-file.js';
import { expandPlaceholders } from './command.js';
import type { DeployAction, DeployContext, Deployer, DeployOutcome, DeployReport } from './deployer.js';
import { describeFailure, HelmClient, HelmCommandError, type ReleaseRef } from './helm-client.js';
import { capDiff, manifestDiff } from './manifest-diff.js';
import { checkoutPath } from './checkout-path.js';
import { formatMarker, PendingInstallError, ReleaseState, type ExpectedTag } from './release-state.js';

export interface HelmDeployerOptions {
  graceMs?: number;
  /** Extra environment for helm/helmfile (KUBECONFIG, PATH); the worker's own by default. */
  env?: Record<string, string>;
}

const DEFAULT_TIMEOUT = '5m';

/** A release as this step sees it: where it is, and (for helm) how to render it. */
interface Release extends ReleaseRef {
  chart?: string;
  version?: string;
  valuesFiles?: string[];
  apps?: string[];
}

/** The environment's effective settings: its overrides over the deploy-wide ones. */
function targetOf(
  config: HelmDeployConfig | HelmfileDeployConfig,
  env: string,
): Required<Pick<HelmTarget, 'timeout'>> & HelmTarget {
  const own = config.environments?.[env] ?? {};
  return {
    namespace: own.namespace ?? config.namespace,
    kubeContext: own.kubeContext ?? config.kubeContext,
    timeout: own.timeout ?? config.timeout ?? DEFAULT_TIMEOUT,
    verify: own.verify ?? config.verify,
  };
}

/** promote.yaml in the checkout: the apps' tag paths and the environment's values file at this commit. */
function projectAt(checkout: string): PromoteConfig {
  return parseConfig(readFileSync(join(checkout, CONFIG_FILE), 'utf8'));
}

abstract class ReleaseDeployer implements Deployer {
  protected constructor(
    protected readonly config: HelmDeployConfig | HelmfileDeployConfig,
    protected readonly options: HelmDeployerOptions,
  ) {}

  protected abstract releases(context: DeployContext, helm: HelmClient): Promise<Release[]>;
  protected abstract upgrade(
    context: DeployContext,
    releases: Release[],
    marker: string,
    lines: string[],
  ): Promise<string | undefined>;
  protected abstract render(context: DeployContext, release: Release, helm: HelmClient): Promise<string>;

  protected target(context: DeployContext) {
    return targetOf(this.config, context.env);
  }

  /** The environment helm, helmfile and `verify` run with: the worker's deploy env plus the step's identity. */
  protected commandEnv(context: DeployContext): Record<string, string> {
    return {
      ...this.options.env,
      PROMOTE_ENV: context.env,
      PROMOTE_COMMIT: context.commit,
      PROMOTE_ID: context.promotionId,
    };
  }

  protected client(context: DeployContext, cancellable = false): HelmClient {
    return new HelmClient({
      cwd: context.checkout,
      env: this.commandEnv(context),
      signal: cancellable ? context.signal : undefined,
      graceMs: this.options.graceMs,
      onOutput: context.onProgress,
    });
  }

  /** The tags the checkout's values file holds for every app, and where a release's values carry them. */
  protected async expectedTags(context: DeployContext, revision?: string): Promise<ExpectedTag[]> {
    const project = projectAt(context.checkout);
    const env = project.environments.find((e) => e.name === context.env);
    if (!env) return [];
    const source = revision
      ? await gitShow(context.checkout, revision, env.valuesFile)
      : readFileSync(checkoutPath(context.checkout, env.valuesFile), 'utf8');
    if (source === undefined) return [];
    const apps = Object.entries(project.apps);
    let scalars: Map<string, string>;
    try {
      scalars = readScalars(
        source,
        apps.map(([, a]) => a.tagPath),
        env.valuesFile,
      );
    } catch {
      return [];
    }
    return apps.flatMap(([app, a]) => {
      const tag = scalars.get(a.tagPath);
      return tag === undefined ? [] : [{ app, tagPath: a.tagPath, tag }];
    });
  }

  async run(action: DeployAction, context: DeployContext): Promise<DeployOutcome> {
    const lines: string[] = [];
    const log = (line: string) => {
      lines.push(line);
      context.onProgress();
    };
    const output = () => redact(lines.join('\n'));
    try {
      if (action === 'diff') return await this.diff(context, log);
      if (action === 'rollback') {
        const helm = this.client(context);
        const state = new ReleaseState(helm, log);
        for (const release of await this.releases(context, helm)) {
          log(
            await state.rollbackRecorded(
              release,
              context.promotionId,
              context.env,
              this.target(context).timeout,
            ),
          );
        }
        return { ok: true, output: output() };
      }
      return await this.apply(context, log, output, lines);
    } catch (error) {
      if (context.signal.aborted)
        return { ok: false, cancelled: true, output: output(), error: `${action} was cancelled` };
      const message =
        error instanceof HelmCommandError || error instanceof PendingInstallError
          ? error.message
          : redact(String(error));
      log(message);
      return { ok: false, output: output(), error: `${action} failed: ${message}` };
    }
  }

  private async diff(context: DeployContext, log: (l: string) => void): Promise<DeployOutcome> {
    const helm = this.client(context);
    const state = new ReleaseState(helm, log);
    const releases = await this.releases(context, helm);
    // Drift: what runs against what Git said before this promotion's bump.
    const gitBefore = await this.expectedTags(
      context,
      (await isBumpOf(context)) ? `${context.commit}^` : context.commit,
    );
    const drift: string[] = [];
    const report: ObservedRelease[] = [];
    const diffs: string[] = [];
    for (const release of releases) {
      const deployed = await state.currentRevision(release);
      const tags = deployed ? await state.tags(release, carried(release, gitBefore), deployed.revision) : {};
      report.push({
        release: release.name,
        namespace: release.namespace,
        ...(deployed ? { revision: deployed.revision, status: deployed.status } : {}),
        tags,
      });
      for (const expected of carried(release, gitBefore)) {
        const running = tags[expected.app];
        if (running !== undefined && running !== expected.tag)
          drift.push(
            `${context.env} runs ${expected.app} ${running} but Git says ${expected.tag} (release ${release.name})`,
          );
      }
      const manifest = await helm.manifest(release);
      const rendered = await this.render(context, release, helm);
      diffs.push(manifestDiff(release.name, manifest, rendered) || `${release.name}: no changes\n`);
    }
    for (const line of drift) log(`drift: ${line}`);
    // Rendered manifests carry more than Secrets (a token in a ConfigMap, an env value): redacted too.
    const text = capDiff(redact([...drift.map((d) => `drift: ${d}\n`), ...diffs].join('\n')));
    const tags = Object.assign({}, ...report.map((r) => r.tags ?? {})) as Record<string, string>;
    return { ok: true, output: text, report: { releases: report, tags, ...(drift.length ? { drift } : {}) } };
  }

  private async apply(
    context: DeployContext,
    log: (l: string) => void,
    output: () => string,
    lines: string[],
  ): Promise<DeployOutcome> {
    const helm = this.client(context);
    const state = new ReleaseState(helm, log);
    const target = this.target(context);
    const releases = await this.releases(context, helm);
    const before: Record<string, number> = {};
    const repaired: Record<string, string> = {};
    for (const release of releases) {
      const fixed = await state.repair(release, this.config.pendingInstall, target.timeout, {
        signal: context.signal,
      });
      if (fixed) repaired[release.name] = fixed;
      before[release.name] = (await state.currentRevision(release))?.revision ?? 0;
    }
    const marker = formatMarker({
      id: context.promotionId,
      env: context.env,
      commit: context.commit,
      before,
    });
    const failure = await this.upgrade(context, releases, marker, lines);
    const reports: ObservedRelease[] = [];
    const problems: string[] = failure ? [failure] : [];
    if (!failure) {
      const expected = await this.expectedTags(context);
      for (const release of releases) {
        const { problem, report } = await state.verify(
          release,
          before[release.name] ?? 0,
          carried(release, expected),
        );
        if (repaired[release.name]) report.repaired = repaired[release.name];
        reports.push(report);
        if (problem) problems.push(problem);
        else
          log(
            `${release.name}: deployed revision ${report.revision} in ${release.namespace} (${describeTags(report.tags)})`,
          );
      }
      const missing = expected.filter((e) => !reports.some((r) => r.tags?.[e.app] !== undefined));
      if (missing.length && problems.length === 0)
        problems.push(`no release carries ${missing.map((m) => `${m.app} (${m.tagPath})`).join(', ')}`);
    }
    if (problems.length === 0 && target.verify) {
      const argv = expandPlaceholders(target.verify, context);
      const result = await runCommand(argv, {
        cwd: context.checkout,
        env: this.commandEnv(context),
        signal: context.signal,
        graceMs: this.options.graceMs,
        onOutput: context.onProgress,
      });
      if (result.exitCode !== 0) problems.push(`verify ${describeFailure(argv, result)}`);
      else log(`verify: ${argv.join(' ')} passed`);
    }
    const tags = Object.assign({}, ...reports.map((r) => r.tags ?? {})) as Record<string, string>;
    const report: DeployReport = { releases: reports, tags };
    if (Object.keys(repaired).length) report.repaired = Object.values(repaired);
    if (problems.length) {
      if (context.signal.aborted)
        return { ok: false, cancelled: true, output: output(), error: 'apply was cancelled', report };
      for (const p of problems) log(p);
      return { ok: false, output: output(), error: `apply failed: ${problems.join('; ')}`, report };
    }
    return { ok: true, output: output(), report };
  }

  async deployedCommit(context: DeployContext): Promise<string | undefined> {
    const helm = this.client(context);
    const state = new ReleaseState(helm, () => undefined);
    const commits = new Set<string | undefined>();
    for (const release of await this.releases(context, helm))
      commits.add(await state.deployedCommit(release));
    return commits.size === 1 ? [...commits][0] : undefined;
  }

  async observedTags(context: DeployContext): Promise<Record<string, string>> {
    const helm = this.client(context);
    const state = new ReleaseState(helm, () => undefined);
    const expected = await this.expectedTags(context);
    const tags: Record<string, string> = {};
    for (const release of await this.releases(context, helm)) {
      const current = await state.currentRevision(release);
      if (current)
        Object.assign(tags, await state.tags(release, carried(release, expected), current.revision));
    }
    return tags;
  }
}

function carried(release: Release, expected: readonly ExpectedTag[]): ExpectedTag[] {
  return release.apps ? expected.filter((e) => release.apps?.includes(e.app)) : [...expected];
}

function describeTags(tags: Record<string, string> | undefined): string {
  const entries = Object.entries(tags ?? {});
  return entries.length ? entries.map(([app, tag]) => `${app} ${tag}`).join(', ') : 'no app tags';
}

/**
 * Small reads inside the checkout. Never synchronous: the worker's event loop carries every activity's
 * heartbeats and cancellation, and a blocked loop makes a live apply look lost.
 */
async function readGit(cwd: string, args: string[]): Promise<string | undefined> {
  const result = await runCommand(['git', ...args], { cwd, stdoutIsData: true });
  return result.exitCode === 0 ? result.stdout : undefined;
}

function gitShow(checkout: string, revision: string, file: string): Promise<string | undefined> {
  return readGit(checkout, ['show', `${revision}:${file}`]);
}

/** Whether the commit is this promotion's bump of this environment, so its parent holds Git's tags before. */
async function isBumpOf(context: DeployContext): Promise<boolean> {
  const body = await readGit(context.checkout, ['log', '-1', '--format=%B', context.commit]);
  return (
    body !== undefined &&
    body.includes(`${TRAILER.id}: ${context.promotionId}`) &&
    body.includes(`${TRAILER.env}: ${context.env}`)
  );
}

/** `deploy.type: helm`: `helm upgrade --install` per configured release. */
export class HelmDeployer extends ReleaseDeployer {
  constructor(
    private readonly helmConfig: HelmDeployConfig,
    options: HelmDeployerOptions = {},
  ) {
    super(helmConfig, options);
  }

  protected releases(context: DeployContext): Promise<Release[]> {
    const target = this.target(context);
    const envValues = projectAt(context.checkout).environments.find(
      (e) => e.name === context.env,
    )?.valuesFile;
    return Promise.resolve(
      this.helmConfig.releases.map((r) => {
        const [name = r.name, namespace = context.env] = expandPlaceholders(
          [r.name, r.namespace ?? target.namespace ?? context.env],
          context,
        );
        return {
          name,
          namespace,
          ...(target.kubeContext ? { kubeContext: target.kubeContext } : {}),
          chart: r.chart,
          ...(r.version ? { version: r.version } : {}),
          valuesFiles: expandPlaceholders(r.valuesFiles ?? (envValues ? [envValues] : []), context),
          ...(r.apps ? { apps: r.apps } : {}),
        };
      }),
    );
  }

  /** A chart folder in the repository, else a repository or OCI reference as written. */
  private chartArgs(context: DeployContext, release: Release): string[] {
    const chart = release.chart ?? '';
    // A chart reference (`repo/chart`, `oci://…`) is never a flag; a folder must stay in the checkout.
    const inCheckout = checkoutPath(context.checkout, chart);
    const local = existsSync(inCheckout) ? inCheckout : chart;
    return [local, ...(release.version ? ['--version', release.version] : [])];
  }

  private valuesArgs(context: DeployContext, release: Release): string[] {
    return (release.valuesFiles ?? []).flatMap((f) => ['--values', checkoutPath(context.checkout, f)]);
  }

  protected async upgrade(
    context: DeployContext,
    releases: Release[],
    marker: string,
    lines: string[],
  ): Promise<string | undefined> {
    const helm = this.client(context, true);
    const target = this.target(context);
    for (const release of releases) {
      const args = [
        'upgrade',
        '--install',
        release.name,
        ...this.chartArgs(context, release),
        ...HelmClient.scope(release),
        ...this.valuesArgs(context, release),
        '--create-namespace',
        '--wait',
        '--timeout',
        target.timeout,
        '--description',
        marker,
      ];
      lines.push(`$ helm ${args.slice(0, 3).join(' ')} … (${release.namespace})`);
      const result = await helm.run(args, { cancellable: true, shown: true });
      lines.push(redact(result.stdout.trim()));
      if (result.exitCode !== 0) return describeFailure(['helm', ...args], result);
    }
    return undefined;
  }

  protected async render(context: DeployContext, release: Release, helm: HelmClient): Promise<string> {
    return helm.check(
      [
        'template',
        release.name,
        ...this.chartArgs(context, release),
        '--namespace',
        release.namespace,
        ...(release.kubeContext ? ['--kube-context', release.kubeContext] : []),
        ...this.valuesArgs(context, release),
      ],
      { whole: true },
    );
  }
}

interface HelmfileListEntry {
  name: string;
  namespace?: string;
  enabled?: boolean;
  installed?: boolean;
}

/** `deploy.type: helmfile`: `helmfile -e <env> apply|sync` in the checkout; releases from `helmfile list`. */
export class HelmfileDeployer extends ReleaseDeployer {
  constructor(
    private readonly helmfileConfig: HelmfileDeployConfig,
    options: HelmDeployerOptions = {},
  ) {
    super(helmfileConfig, options);
  }

  /** Checked, then passed as written: helmfile resolves it against the checkout, its working directory. */
  private helmfileFile(context: DeployContext, file: string): string {
    checkoutPath(context.checkout, file);
    return file;
  }

  private globalArgs(context: DeployContext): string[] {
    const target = this.target(context);
    return [
      ...(this.helmfileConfig.file ? ['--file', this.helmfileFile(context, this.helmfileConfig.file)] : []),
      '--environment',
      context.env,
      ...(target.kubeContext ? ['--kube-context', target.kubeContext] : []),
      ...(target.namespace
        ? ['--namespace', expandPlaceholders([target.namespace], context)[0] ?? context.env]
        : []),
    ];
  }

  protected async releases(context: DeployContext, helm: HelmClient): Promise<Release[]> {
    const out = await helm.check([...this.globalArgs(context), 'list', '--output', 'json'], {
      file: 'helmfile',
    });
    const target = this.target(context);
    const entries = JSON.parse(out || '[]') as HelmfileListEntry[];
    return entries
      .filter((e) => e.enabled !== false && e.installed !== false)
      .map((e) => ({
        name: e.name,
        namespace:
          e.namespace ||
          (target.namespace ? (expandPlaceholders([target.namespace], context)[0] ?? 'default') : 'default'),
        ...(target.kubeContext ? { kubeContext: target.kubeContext } : {}),
      }));
  }

  protected async upgrade(
    context: DeployContext,
    _releases: Release[],
    marker: string,
    lines: string[],
  ): Promise<string | undefined> {
    const helm = this.client(context, true);
    const args = [
      ...this.globalArgs(context),
      this.helmfileConfig.command,
      '--wait',
      '--timeout',
      String(helmSeconds(this.target(context).timeout)),
      '--description',
      marker,
      ...(this.helmfileConfig.command === 'apply' ? ['--suppress-diff'] : []),
    ];
    lines.push(`$ helmfile -e ${context.env} ${this.helmfileConfig.command}`);
    const result = await helm.run(args, { file: 'helmfile', cancellable: true, shown: true });
    lines.push(redact(`${result.stdout.trim()}\n${result.stderr.trim()}`.trim()));
    return result.exitCode === 0 ? undefined : describeFailure(['helmfile', ...args], result);
  }

  protected async render(context: DeployContext, release: Release, helm: HelmClient): Promise<string> {
    return helm.check(
      [...this.globalArgs(context), '--selector', `name=${release.name}`, 'template', '--skip-deps'],
      { file: 'helmfile', whole: true },
    );
  }
}

/** helmfile's `--timeout` takes seconds. */
function helmSeconds(duration: string): number {
  const [, amount = '0', unit = 's'] = /^([0-9]+)(s|m|h)$/.exec(duration) ?? [];
  return Number(amount) * { s: 1, m: 60, h: 3600 }[unit as 's' | 'm' | 'h'];
}
