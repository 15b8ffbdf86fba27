import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readAppTag } from '../activities/formats/app-values.js';
import { ValuesKeyError } from '../activities/values-file.js';
import { ConfigError, lineOfKey, parseConfig, type ConfigProblem } from '../config/load.js';
import type { PromoteConfig } from '../config/schema.js';

/**
 * `promote validate`: the schema, then — since it runs in a checkout of the deployment repository —
 * every environment's values file must exist beside promote.yaml and hold each app's tag path.
 */
export function validateConfigFile(file: string, text: string): PromoteConfig {
  const config = parseConfig(text, file);
  const root = dirname(file);
  const problems: ConfigProblem[] = [];
  config.environments.forEach((env, i) => {
    const path = ['environments', i, 'valuesFile'];
    const line = lineOfKey(text, path);
    const valuesPath = join(root, env.valuesFile);
    if (!existsSync(valuesPath)) {
      problems.push({
        key: `environments[${i}].valuesFile`,
        line,
        message: `${env.valuesFile} does not exist`,
      });
      return;
    }
    const values = readFileSync(valuesPath, 'utf8');
    for (const [app, appConfig] of Object.entries(config.apps)) {
      try {
        readAppTag(values, appConfig, env.valuesFile);
      } catch (error) {
        if (!(error instanceof ValuesKeyError)) throw error;
        problems.push({
          key: `apps.${app}.tagPath`,
          line: lineOfKey(text, ['apps', app, 'tagPath']),
          message: error.message,
        });
      }
    }
  });
  if (problems.length > 0) throw new ConfigError(file, problems);
  return config;
}
