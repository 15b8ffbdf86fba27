// The `promote` executable. Exits explicitly: an open gRPC connection must not keep a finished command alive.
import { flushTracing } from '../worker/tracing.js';
import { main } from './cli.js';

const code = await main(process.argv);
await flushTracing(2_000); // The spans of this command, when PROMOTE_OTLP_ENDPOINT is set.
process.exit(code);
