import type { DeployConfig } from '../../config/schema.js';
import { CommandDeployer } from './command.js';
import { HelmDeployer, HelmfileDeployer } from './helm.js';
import type { Deployer } from './deployer.js';

export function createDeployer(
  config: DeployConfig,
  options: { graceMs?: number; env?: Record<string, string> } = {},
): Deployer {
  switch (config.type) {
    case 'command':
      return new CommandDeployer(config, options.graceMs);
    case 'helm':
      return new HelmDeployer(config, options);
    case 'helmfile':
      return new HelmfileDeployer(config, options);
  }
}
