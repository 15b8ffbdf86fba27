// Entry point used by scripts/setup.mjs: makes sure the Temporal binaries are available.
import { ensureTool, TEMPORAL_CLI, TEMPORAL_TEST_SERVER, ToolMissingError } from './tools.js';

const log = (message: string) => process.stderr.write(`[setup] ${message}\n`);
try {
  await ensureTool(TEMPORAL_CLI, log);
  await ensureTool(TEMPORAL_TEST_SERVER, log);
} catch (error) {
  if (!(error instanceof ToolMissingError)) throw error;
  process.stderr.write(`[setup] ${error.message}\n`);
  process.exit(1);
}
