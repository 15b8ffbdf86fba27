import { runCommand, type CommandResult } from '../command.js';
import { redact, tail } from '../redact.js';
import {
  DEFAULT_DEPLOY_GRACE_MS,
  type DeployAction,
  type DeployContext,
  type Deployer,
  type DeployOutcome,
} from './deployer.js';

export interface CommandDeployConfig {
  diff: string[];
  apply: string[];
  rollback?: string[];
  status?: string[];
}

const OUTPUT_LIMIT = 16 * 1024;

export function expandPlaceholders(
  argv: readonly string[],
  context: Pick<DeployContext, 'env' | 'commit'>,
): string[] {
  return argv.map((arg) => arg.replaceAll('{env}', context.env).replaceAll('{commit}', context.commit));
}

/** `deploy.type: command`: runs the configured argv in a checkout at the bump commit. */
export class CommandDeployer implements Deployer {
  constructor(
    private readonly config: CommandDeployConfig,
    private readonly graceMs = DEFAULT_DEPLOY_GRACE_MS,
  ) {}

  async run(action: DeployAction, context: DeployContext): Promise<DeployOutcome> {
    // Without a rollback command, applying the reverted values is the rollback.
    const configured =
      action === 'rollback' ? (this.config.rollback ?? this.config.apply) : this.config[action];
    const argv = expandPlaceholders(configured, context);
    const result = await this.exec(argv, context);
    const output = redact(tail(result.stdout + (result.stderr ? `\n${result.stderr}` : ''), OUTPUT_LIMIT));
    if (result.cancelled) return { ok: false, cancelled: true, output, error: `${action} was cancelled` };
    if (result.failedToStart) {
      return { ok: false, output, error: `${action} command could not start: ${result.failedToStart}` };
    }
    if (result.exitCode !== 0) {
      const why = result.signal ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`;
      const stderr = redact(tail(result.stderr.trim(), 2000));
      return {
        ok: false,
        output,
        error: redact(`${action} command ${argv.join(' ')} ${why}${stderr ? `: ${stderr}` : ''}`),
      };
    }
    return { ok: true, output };
  }

  async deployedCommit(context: DeployContext): Promise<string | undefined> {
    if (!this.config.status) return undefined;
    // Data, not shown output: its first line is the commit, so it must not be a tail.
    const result = await this.exec(expandPlaceholders(this.config.status, context), context, true);
    if (result.exitCode !== 0) return undefined;
    return result.stdout.trim().split('\n')[0]?.trim() || undefined;
  }

  private exec(argv: string[], context: DeployContext, stdoutIsData = false): Promise<CommandResult> {
    return runCommand(argv, {
      cwd: context.checkout,
      env: { PROMOTE_ENV: context.env, PROMOTE_COMMIT: context.commit, PROMOTE_ID: context.promotionId },
      signal: context.signal,
      graceMs: this.graceMs,
      maxOutput: OUTPUT_LIMIT,
      stdoutIsData,
      onOutput: context.onProgress,
    });
  }
}
