// `npm run cluster:tools [-- name…]`: builds helm, helmfile, etcd and kube-apiserver into .tools/ and
// prints their paths (one `name=path` a line), for scripts and anyone who wants the binaries.
import { CLUSTER_TOOLS, ensureClusterTool, type ClusterToolName } from './cluster-tools.js';

const requested = process.argv.slice(2);
const names = (requested.length > 0 ? requested : Object.keys(CLUSTER_TOOLS)) as ClusterToolName[];
for (const name of names) {
  if (!(name in CLUSTER_TOOLS)) {
    process.stderr.write(`unknown tool '${name}' (known: ${Object.keys(CLUSTER_TOOLS).join(', ')})\n`);
    process.exit(2);
  }
}
try {
  for (const name of names) {
    const path = await ensureClusterTool(name, {
      log: (m) => process.stderr.write(`[cluster-tools] ${m}\n`),
    });
    process.stdout.write(`${name}=${path}\n`);
  }
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
