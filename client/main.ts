// The `promote` executable. Exits explicitly: an open gRPC connection must not keep a finished command alive.
import { main } from './cli.js';

process.exit(await main(process.argv));
