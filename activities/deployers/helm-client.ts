// The helm commands the helm and helmfile deployers need, each one argv, with its JSON output parsed.
import { runCommand, type CommandResult } from '../command.js';
import { redact, tail } from '../redact.js';

export interface ReleaseRef {
  name: string;
  namespace: string;
  kubeContext?: string;
}

export interface Revision {
  revision: number;
  status: string;
  description: string;
  chart?: string;
  app_version?: string;
  updated?: string;
}

export const PENDING_STATUSES = ['pending-install', 'pending-upgrade', 'pending-rollback'];

export class HelmCommandError extends Error {
  override readonly name = 'HelmCommandError';
  constructor(
    message: string,
    readonly result?: CommandResult,
  ) {
    super(message);
  }
}

export interface HelmRunOptions {
  cwd: string;
  env?: Record<string, string>;
  signal?: AbortSignal;
  graceMs?: number;
  onOutput?: () => void;
}

export interface HelmCallOptions {
  /** helmfile instead of helm. */
  file?: string;
  cancellable?: boolean;
  /** Keep all of stdout (rendered manifests, whose Secrets are masked only when read whole). */
  whole?: boolean;
  /** stdout is progress that is only shown (an upgrade's): its tail is kept. Otherwise it is data, kept whole. */
  shown?: boolean;
}

/** Runs helm (or helmfile) argv; the output is bounded and redacted in errors. */
export class HelmClient {
  constructor(
    private readonly options: HelmRunOptions,
    private readonly helm = 'helm',
  ) {}

  /**
   * stdout is data unless `shown`: manifests (`template`, `get manifest`) and JSON are read whole, never
   * cut (a cut manifest diffs wrong, cut JSON does not parse); an upgrade's progress is only shown.
   */
  async run(args: string[], options: HelmCallOptions = {}): Promise<CommandResult> {
    return runCommand([options.file ?? this.helm, ...args], {
      cwd: this.options.cwd,
      env: this.options.env,
      // Only the long operations get the signal: a status read is short and must finish to be useful.
      signal: options.cancellable ? this.options.signal : undefined,
      graceMs: this.options.graceMs,
      maxOutput: options.whole ? Number.POSITIVE_INFINITY : 256 * 1024,
      stdoutIsData: !options.shown,
      onOutput: this.options.onOutput,
    });
  }

  /** Throws a HelmCommandError naming the command and the end of its stderr on a non-zero exit. */
  async check(args: string[], options: HelmCallOptions = {}): Promise<string> {
    const result = await this.run(args, options);
    if (result.exitCode !== 0)
      throw new HelmCommandError(describeFailure([options.file ?? this.helm, ...args], result), result);
    return result.stdout;
  }

  static scope(ref: ReleaseRef): string[] {
    return ['--namespace', ref.namespace, ...(ref.kubeContext ? ['--kube-context', ref.kubeContext] : [])];
  }

  /** The release's revisions, oldest first; empty when the release does not exist. */
  async history(ref: ReleaseRef): Promise<Revision[]> {
    const result = await this.run([
      'history',
      ref.name,
      ...HelmClient.scope(ref),
      '--max',
      '256',
      '-o',
      'json',
    ]);
    if (result.exitCode !== 0) {
      if (/release: not found/i.test(result.stderr)) return [];
      throw new HelmCommandError(describeFailure(['helm', 'history', ref.name], result), result);
    }
    const revisions = JSON.parse(result.stdout || '[]') as Revision[];
    return revisions.sort((a, b) => a.revision - b.revision);
  }

  /** The values the release was given (`helm get values -o json`), at a revision or the latest. */
  async values(ref: ReleaseRef, revision?: number): Promise<Record<string, unknown>> {
    const out = await this.check([
      'get',
      'values',
      ref.name,
      ...HelmClient.scope(ref),
      ...(revision ? ['--revision', String(revision)] : []),
      '-o',
      'json',
    ]);
    return (JSON.parse(out || '{}') ?? {}) as Record<string, unknown>;
  }

  /** The whole manifest, however large: a cut one could start inside a Secret, past its `kind`. */
  async manifest(ref: ReleaseRef): Promise<string | undefined> {
    const result = await this.run(['get', 'manifest', ref.name, ...HelmClient.scope(ref)], { whole: true });
    if (result.exitCode !== 0) {
      if (/release: not found/i.test(result.stderr)) return undefined;
      throw new HelmCommandError(describeFailure(['helm', 'get', 'manifest', ref.name], result), result);
    }
    return result.stdout;
  }

  async hasDiffPlugin(): Promise<boolean> {
    const result = await this.run(['plugin', 'list']);
    return result.exitCode === 0 && /^diff\s/m.test(result.stdout);
  }
}

export function describeFailure(argv: string[], result: CommandResult): string {
  const why = result.cancelled
    ? 'was cancelled'
    : result.failedToStart
      ? `could not start: ${result.failedToStart}`
      : result.signal
        ? `was killed by ${result.signal}`
        : `exited with ${result.exitCode}`;
  const stderr = redact(tail(result.stderr.trim(), 2000));
  return `${argv.slice(0, 3).join(' ')} ${why}${stderr ? `: ${stderr}` : ''}`;
}

/** The latest revision decides the release's state: an older one may stay `pending-*` after a repair. */
export function latest(history: Revision[]): Revision | undefined {
  return history[history.length - 1];
}

/** What a repair rolls back to: the last `deployed` revision, else the last one that ever was. */
export function lastGood(history: Revision[]): Revision | undefined {
  const candidates = history.slice(0, -1).reverse();
  return candidates.find((r) => r.status === 'deployed') ?? candidates.find((r) => r.status === 'superseded');
}
