import { isCancellation, log, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities, Announcement, AnnouncementEvent } from '../activities/index.js';
import type { EnvironmentConfig, PromoteConfig } from '../config/schema.js';
import { diffSummary } from '../common/diff-summary.js';
import { quorumText } from '../common/approval-policy.js';
import type { AppRequest, Decision, EnvironmentState, PromotionState, TagValue } from '../common/types.js';
import { TIMEOUTS } from './timeouts.js';

const { announce } = proxyActivities<Activities>(TIMEOUTS.notify);

/** Runs from here on say in their Slack thread why an environment waits for its window or soaks. */
export const GOVERNANCE_ANNOUNCEMENTS_PATCH = 'governance-announcements';

function tagOf(value: TagValue | undefined, app: string): string | undefined {
  return typeof value === 'string' ? value : value?.[app];
}

function messageOf(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Announcements of one promotion, from workflow code. Best-effort: a notifier that fails is recorded in
 * `state.undelivered` and logged, never a reason to compensate (cancellation still propagates).
 * Posted messages (a Slack thread's root, approval requests) are kept in `state.messages`, so a
 * retried or later announcement updates them instead of posting again.
 */
export class Announcer {
  /** Whether this run announces its progress as a thread (patched: older runs announce outcomes only). */
  private readonly threaded: boolean;
  /** A partial-approval update still being sent: an outcome waits for it, so it never undoes the outcome. */
  private approvalsInFlight: Promise<void> | undefined;

  constructor(
    private readonly state: PromotionState,
    private readonly apps: AppRequest[],
    private readonly config: PromoteConfig,
  ) {
    // Only runs whose promote.yaml has a Slack section post a thread: nothing changes for the others.
    this.threaded = config.notifications?.slack !== undefined && patched('slack-thread');
    const users = config.notifications?.slack?.users;
    if (users) state.slackUsers = users;
  }

  private channelOf(env: EnvironmentConfig | undefined): string | undefined {
    return env?.notifications?.slack?.channel ?? this.config.notifications?.slack?.channel;
  }

  private build(
    current: EnvironmentState | undefined,
    env: EnvironmentConfig | undefined,
    outcome: AnnouncementEvent,
    detail?: string,
  ): Announcement {
    const { state } = this;
    const channel = this.channelOf(env);
    return {
      promotionId: state.id,
      env: current?.name ?? '',
      outcome,
      apps: this.apps.map(({ app, tag: requested }) => {
        // What the cluster ran and runs, where the deployer read it (helm/helmfile); Git's otherwise.
        const previousTag = tagOf(current?.observedPreviousTag, app) ?? tagOf(current?.previousTag, app);
        const tag = (outcome === 'deployed' ? tagOf(current?.observedTag, app) : undefined) ?? requested;
        return { app, tag, ...(previousTag && previousTag !== tag ? { previousTag } : {}) };
      }),
      ...(current?.commit ? { commit: current.commit } : {}),
      ...(current?.repaired ? { repaired: current.repaired } : {}),
      ...(current?.drift ? { drift: current.drift } : {}),
      ...(detail ? { detail } : state.kind === 'rollback' ? { detail: 'rollback' } : {}),
      ...(this.threaded && channel
        ? {
            channel,
            messages: { ...state.messages },
            promotion: {
              kind: state.kind,
              status: state.status,
              ...(state.requestedBy ? { requestedBy: state.requestedBy } : {}),
              apps: this.apps,
              environments: state.environments.map((e) => ({ name: e.name, status: e.status })),
            },
            ...(current?.approvers ? { approvers: current.approvers } : {}),
            ...(current?.status === 'waiting-approval' && quorumText(current)
              ? { approvals: quorumText(current) }
              : {}),
            ...(current?.revertCommit ? { revertCommit: current.revertCommit } : {}),
            ...(current?.rolledBack ? { rolledBack: true } : {}),
            ...(current?.decision ? this.decided(current.decision) : {}),
          }
        : {}),
    };
  }

  private decided(decision: Decision): Partial<Announcement> {
    const slackId = this.state.slackUsers?.[decision.by];
    return {
      decidedBy: decision.by,
      ...(slackId ? { decidedBySlackId: slackId } : {}),
      ...(decision.comment ? { decisionComment: decision.comment } : {}),
    };
  }

  private async send(announcement: Announcement, bestEffort: boolean): Promise<void> {
    if (!bestEffort) {
      await announce(announcement);
      return;
    }
    try {
      const result = await announce(announcement);
      if (result?.messages) this.state.messages = { ...this.state.messages, ...result.messages };
    } catch (error) {
      if (isCancellation(error)) throw error;
      const entry = {
        ...(announcement.env ? { env: announcement.env } : {}),
        event: announcement.outcome,
        error: messageOf(error),
        at: new Date().toISOString(),
      };
      (this.state.undelivered ??= []).push(entry);
      log.warn('announcement not delivered', entry);
    }
  }

  /**
   * An approval that did not complete the quorum: the Slack request shows who approved so far. Started
   * from the decision handler without waiting (runs from the `approval-progress` patch on); updates go
   * one at a time, so the message never goes back to an older count.
   */
  approvals(current: EnvironmentState): void {
    if (!this.threaded || !patched('approval-progress')) return;
    const env = this.config.environments.find((e) => e.name === current.name);
    const previous = this.approvalsInFlight ?? Promise.resolve();
    const sending = previous.then(() => this.send(this.build(current, env, 'approvals'), true));
    this.approvalsInFlight = sending.catch(() => undefined);
  }

  /** How an environment ended: every notifier gets these. */
  async outcome(
    current: EnvironmentState,
    env: EnvironmentConfig,
    outcome: AnnouncementEvent,
    detail?: string,
  ): Promise<void> {
    if (this.approvalsInFlight) await this.approvalsInFlight;
    await this.send(this.build(current, env, outcome, detail), patched('best-effort-announce'));
  }

  /** Progress within an environment (`started` with a diff summary, `waiting-approval`): threaded runs only. */
  async progress(
    current: EnvironmentState,
    env: EnvironmentConfig,
    event: 'started' | 'waiting-approval',
  ): Promise<void> {
    if (!this.threaded) return;
    const detail = event === 'started' ? diffSummary(current.diff) : undefined;
    await this.send(this.build(current, env, event, detail), true);
  }

  /**
   * Release governance holding an environment (`waiting-window`, `soaking`), said in the thread with
   * the status's own details. Threaded runs from the `governance-announcements` patch on: older runs
   * held by a window or a soak announced nothing, and replay the same.
   */
  async governance(
    current: EnvironmentState,
    event: 'waiting-window' | 'soaking',
    detail: string,
  ): Promise<void> {
    if (!this.threaded || !patched(GOVERNANCE_ANNOUNCEMENTS_PATCH)) return;
    const env = this.config.environments.find((e) => e.name === current.name);
    await this.send(this.build(current, env, event, detail), true);
  }

  /**
   * The promotion's own message in each channel its environments announce to: posted at the start,
   * updated at the end (events in between update it too). One activity per channel, so each activity
   * posts at most one message and a retry never posts twice.
   */
  async promotion(targets: EnvironmentConfig[]): Promise<void> {
    if (!this.threaded) return;
    const channels = [...new Set(targets.map((env) => this.channelOf(env)))];
    for (const channel of channels) {
      const env = targets.find((e) => this.channelOf(e) === channel);
      await this.send(this.build(undefined, env, 'promotion'), true);
    }
  }
}
