import type { Block } from './governance.js';

/** One app in one environment, as `promote overview` shows it. */
export interface OverviewCell {
  app: string;
  env: string;
  /** The tag in the environment's values file at the branch head (absent: the file lacks the key). */
  tag?: string;
  /** The tag the environment runs, read at the commit the deployer reports (command deployer: `status`). */
  deployedTag?: string;
  deployedCommit?: string;
  /** True when the deployer reports a commit whose tag differs from Git's. */
  drift?: boolean;
  /** The promotion whose commit put the current tag into the values file (its Promote-Id trailer). */
  committedBy?: string;
  /** The newest promotion of this app at (or ended in) this environment, filled in by the client. */
  lastPromotion?: { id: string; state: string; startedAt: string };
}

export interface Overview {
  repo: string;
  branch: string;
  /** The branch head the matrix was read at. */
  commit: string;
  environments: string[];
  apps: string[];
  cells: OverviewCell[];
  /** Blocked versions (`promote block`), from the governance workflow; filled in by the client. */
  blocks?: Block[];
}
