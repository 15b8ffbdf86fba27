import { metricMeter, patched } from '@temporalio/workflow';
import type { EnvironmentStatus, PromotionStatus } from '../common/types.js';

/** Patch id: runs started before promotion metrics existed replay without them. */
export const METRICS_PATCH = 'everyday-promotion-metrics';

const ENDED: readonly EnvironmentStatus[] = [
  'succeeded',
  'failed',
  'rejected',
  'skipped',
  'superseded',
  'reverted',
  'blocked',
];

/**
 * Promotion metrics through the worker's Temporal runtime (exported with its Prometheus/OTel metrics):
 * time spent in each step per environment (queued = waiting for the environment lock), environment
 * outcomes and promotion outcomes. Durations are in workflow time; nothing is emitted during replay.
 */
export function promotionMetrics() {
  const steps = metricMeter.createHistogram(
    'promote_step_duration',
    'float',
    's',
    'time an environment spent in each step (queued = waiting behind another deployment)',
  );
  const envOutcomes = metricMeter.createCounter(
    'promote_environment_outcomes',
    '1',
    'environments ended, by outcome',
  );
  const outcomes = metricMeter.createCounter(
    'promote_promotion_outcomes',
    '1',
    'promotions ended, by outcome',
  );
  const current = new Map<string, { status: EnvironmentStatus; since: number }>();
  let enabled: boolean | undefined;
  const on = () => (enabled ??= patched(METRICS_PATCH));

  return {
    /**
     * Called at every step change of an environment. Its first step comes after the lock was granted,
     * so the time since the environment started is the queue wait, contested or not.
     */
    step(env: string, status: EnvironmentStatus, envStartedAt?: string): void {
      if (!on()) return;
      const now = Date.now();
      const previous =
        current.get(env) ??
        (envStartedAt && status !== 'queued'
          ? { status: 'queued' as const, since: Date.parse(envStartedAt) }
          : undefined);
      if (previous && previous.status !== status) {
        steps.record((now - previous.since) / 1000, { env, step: previous.status });
      }
      if (previous?.status !== status) current.set(env, { status, since: now });
      // 'failed' is followed by 'reverted' when a bump was undone: count the first ending only.
      // 'compensation-failed' follows an ending too, and is counted as well: it is worth an alert.
      const first = ENDED.includes(status) && !(previous && ENDED.includes(previous.status));
      if (first || status === 'compensation-failed') {
        envOutcomes.add(1, { env, outcome: status });
      }
    },
    promotion(status: PromotionStatus): void {
      if (on()) outcomes.add(1, { outcome: status });
    },
  };
}
