// The environment deploy, diff and verify commands (and helm/helmfile) run with: an allow-list of what
// tools need to run, plus what the operator names, never the worker's whole environment with its tokens.
import { secretVariableNames, variableList } from './worker-secrets.js';

/** What any tool needs: where programs are, the user's home and locale, proxies, CA certificates. */
const ALLOWED = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TERM',
  'KUBECONFIG',
  // In a pod, kubectl and helm find the API server (with the service account's token file) through these.
  'KUBERNETES_SERVICE_HOST',
  'KUBERNETES_SERVICE_PORT',
  'XDG_CACHE_HOME',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  // The demo repository's deploy script finds its simulated cluster here (README, demo/sample-repo.ts).
  'PROMOTE_DEMO_CLUSTER',
]);

/** Locale settings and helm's and helmfile's own configuration. */
const ALLOWED_PREFIXES = ['LC_', 'HELM_', 'HELMFILE_'];

/** PROMOTE_DEPLOY_ENV: more variables (comma- or space-separated) deploy commands get from the worker. */
export const OPERATOR_DEPLOY_ENV = 'PROMOTE_DEPLOY_ENV';

/**
 * The worker's variables a deploy command gets. A secret the worker holds is never passed by the
 * allow-list (a `HELM_*` name listed in PROMOTE_SECRET_ENV stays out); only an operator who names it in
 * PROMOTE_DEPLOY_ENV hands it over.
 */
export function deployEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const secrets = new Set(secretVariableNames(env));
  const named = new Set(variableList(env[OPERATOR_DEPLOY_ENV]));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const allowed =
      (ALLOWED.has(name) || ALLOWED_PREFIXES.some((prefix) => name.startsWith(prefix))) &&
      !secrets.has(name) &&
      !secrets.has(name.replace(/_FILE$/, ''));
    if (allowed || named.has(name)) out[name] = value;
  }
  return out;
}
