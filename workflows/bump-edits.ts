import { valueOptions } from '../common/app-values.js';
import type { AppRequest } from '../common/types.js';
import type { PromoteConfig } from '../config/schema.js';

/** What a bump writes for each app, and the upstream `repo@ref` lines quoted in its commit body. */
export function bumpEdits(config: PromoteConfig, apps: readonly AppRequest[]) {
  return {
    edits: apps.map(({ app, tag, source }) => {
      const appConfig = config.apps[app];
      return {
        app,
        tag,
        tagPath: appConfig?.tagPath ?? '',
        // Empty unless promote.yaml uses documents, digests or create: old runs' inputs are unchanged.
        ...valueOptions(appConfig),
        ...(appConfig?.revisionPath && source
          ? { revisionPath: appConfig.revisionPath, revision: source.ref }
          : {}),
      };
    }),
    sources: apps.flatMap(({ app, source }) => (source ? [`${app}: ${source.repo}@${source.ref}`] : [])),
  };
}
