import type { Source } from './tags.js';

export type PromotionStatus =
  'running' | 'waiting-approval' | 'succeeded' | 'failed' | 'rejected' | 'cancelled';

export type EnvironmentStatus =
  | 'pending'
  | 'queued'
  | 'bumping'
  | 'diffing'
  | 'waiting-approval'
  | 'applying'
  | 'succeeded'
  | 'failed'
  | 'rejected'
  | 'skipped'
  | 'superseded'
  | 'reverted';

export interface AppRequest {
  app: string;
  tag: string;
  source?: Source;
}

/** What a client asks for; the workflow id is derived from it so a retried CI job finds the same run. */
export interface PromotionRequest {
  repo: string;
  apps: AppRequest[];
  /** Stop after this environment (inclusive). */
  to?: string;
  requestedBy?: string;
}

export interface Decision {
  approved: boolean;
  by: string;
  at: string;
  comment?: string;
}

export interface DecisionInput {
  env: string;
  approved: boolean;
  by: string;
  comment?: string;
}

/** A tag per app: a plain string when the promotion moves one app, so the common case reads simply. */
export type TagValue = string | Record<string, string>;

export interface EnvironmentState {
  name: string;
  status: EnvironmentStatus;
  approval: 'auto' | 'manual';
  approvers?: string[];
  tag?: TagValue;
  previousTag?: TagValue;
  commit?: string;
  diff?: string;
  applyOutput?: string;
  decision?: Decision;
  error?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface PromotionState {
  id: string;
  status: PromotionStatus;
  repo: string;
  apps: AppRequest[];
  requestedBy?: string;
  /** Commit of promote.yaml this run uses: set once the request is accepted. */
  configCommit?: string;
  environments: EnvironmentState[];
  error?: string;
  startedAt: string;
  finishedAt?: string;
}

export const TERMINAL_STATUSES: readonly PromotionStatus[] = ['succeeded', 'failed', 'rejected', 'cancelled'];
