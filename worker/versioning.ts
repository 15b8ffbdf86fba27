import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { WorkerDeploymentOptions } from '@temporalio/worker';

/**
 * Worker Versioning (Temporal Worker Deployments). Opt-in: with PROMOTE_WORKER_DEPLOYMENT unset the
 * worker is unversioned, as before. A versioned task queue routes new workflows only to its
 * deployment's *current* version, and a new deployment has none until an operator (or `promote dev`)
 * sets one — turning it on silently would leave every promotion of an existing install unscheduled.
 */
export interface WorkerDeployment {
  /** PROMOTE_WORKER_DEPLOYMENT: the Worker Deployment's name, shared by every version of the worker. */
  name: string;
  /** PROMOTE_WORKER_BUILD_ID: this version's build id; unset, derived from the package version and bundle. */
  buildId?: string;
}

/** Raised for a PROMOTE_WORKER_* value the server would refuse: the caller reports it as bad input. */
export class WorkerDeploymentSettingError extends Error {}

// The server joins deployment name and build id into one string (`name.buildId` or `name:buildId`),
// so the name may hold neither separator; both stay short, plain and free of whitespace.
const NAME = /^[A-Za-z0-9_-]{1,100}$/;
const BUILD_ID = /^[A-Za-z0-9_.+-]{1,200}$/;

export function workerDeploymentFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerDeployment | undefined {
  const name = env.PROMOTE_WORKER_DEPLOYMENT;
  const buildId = env.PROMOTE_WORKER_BUILD_ID;
  if (!name) {
    if (buildId)
      throw new WorkerDeploymentSettingError(
        'PROMOTE_WORKER_BUILD_ID is set but PROMOTE_WORKER_DEPLOYMENT is not: a build id only means something in a Worker Deployment',
      );
    return undefined;
  }
  if (!NAME.test(name))
    throw new WorkerDeploymentSettingError(
      `PROMOTE_WORKER_DEPLOYMENT=${JSON.stringify(name)} must be letters, digits, '-' or '_' (no '.' or ':'), at most 100 characters`,
    );
  if (buildId !== undefined && buildId !== '' && !BUILD_ID.test(buildId))
    throw new WorkerDeploymentSettingError(
      `PROMOTE_WORKER_BUILD_ID=${JSON.stringify(buildId)} must be letters, digits, '.', '_', '+' or '-', at most 200 characters`,
    );
  return { name, ...(buildId ? { buildId } : {}) };
}

/** The project's package.json, two levels above the compiled dist/worker/versioning.js. */
const PACKAGE_JSON = new URL('../../package.json', import.meta.url);

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

/**
 * `<package version>-<12 hex digits of the bundle's sha256>`: two workers get the same build id exactly
 * when they run the same workflow code, so a code change is always a new version and a mere restart
 * (or a rebuilt image with the same workflows) never is.
 */
export function defaultBuildId(bundleCode: string, version = packageVersion()): string {
  return `${version}-${createHash('sha256').update(bundleCode).digest('hex').slice(0, 12)}`;
}

/**
 * The worker's deployment options. Workflows default to AUTO_UPGRADE: a promotion waiting days for an
 * approval moves to the current version at its next task, and `patched()` keeps its history replaying
 * there, as it did before versioning. The environment lock opts out (PINNED, workflows/environment-lock.ts)
 * and moves on by continue-as-new.
 */
export function workerDeploymentOptions(
  deployment: WorkerDeployment,
  buildId: string,
): WorkerDeploymentOptions {
  return {
    useWorkerVersioning: true,
    version: { deploymentName: deployment.name, buildId },
    defaultVersioningBehavior: 'AUTO_UPGRADE',
  };
}
