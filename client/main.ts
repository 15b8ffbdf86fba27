// The `promote` executable. Exits explicitly: an open gRPC connection must not keep a finished command alive.
import { flushTracing } from '../worker/tracing.js';
import { loadSecretFiles } from '../worker/secret-files.js';
import { main } from './cli.js';

let code: number;
try {
  // Secrets given as files (NAME_FILE) become the variables every command already reads.
  loadSecretFiles();
  code = await main(process.argv);
} catch (error) {
  process.stderr.write(`promote: ${error instanceof Error ? error.message : String(error)}\n`);
  code = 2;
}
await flushTracing(2_000); // The spans of this command, when PROMOTE_OTLP_ENDPOINT is set.
process.exit(code);
