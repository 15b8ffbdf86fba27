import type { ObservedRelease } from '../../common/types.js';

export type DeployAction = 'diff' | 'apply' | 'rollback';

export interface DeployContext {
  env: string;
  commit: string;
  promotionId: string;
  /** A checkout of the deployment repository at `commit`. */
  checkout: string;
  signal: AbortSignal;
  /** Called whenever the deploy shows signs of life; the activity turns it into heartbeats. */
  onProgress: () => void;
}

export interface DeployOutcome {
  ok: boolean;
  output: string;
  /** Why it failed, in a sentence a person can act on. */
  error?: string;
  cancelled?: boolean;
  /** What the helm/helmfile deployers observed on the cluster. */
  report?: DeployReport;
}

/** Releases as observed by the helm and helmfile deployers; recorded in the status. */
export interface DeployReport {
  releases: ObservedRelease[];
  /** The tags the environment runs, by app, merged over its releases (before a diff, after an apply). */
  tags?: Record<string, string>;
  /** Releases found pending and repaired before the apply. */
  repaired?: string[];
  /** Deployed tags that differ from what Git said before this promotion. */
  drift?: string[];
}

/** The seam for helm/helmfile deployers: each config `deploy.type` maps to one implementation. */
export interface Deployer {
  run(action: DeployAction, context: DeployContext): Promise<DeployOutcome>;
  /** The commit the environment runs now, when the deployer can tell; lets a retried apply skip done work. */
  deployedCommit?(context: DeployContext): Promise<string | undefined>;
  /** The tags the environment runs now, by app, read from the cluster (helm/helmfile). */
  observedTags?(context: DeployContext): Promise<Record<string, string>>;
}

export { DEFAULT_DEPLOY_GRACE_MS } from '../../common/constants.js';
