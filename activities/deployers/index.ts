import type { DeployConfig } from '../../config/schema.js';
import { CommandDeployer } from './command.js';
import type { Deployer } from './deployer.js';

export function createDeployer(config: DeployConfig, options: { graceMs?: number } = {}): Deployer {
  switch (config.type) {
    case 'command':
      return new CommandDeployer(config, options.graceMs);
  }
}
