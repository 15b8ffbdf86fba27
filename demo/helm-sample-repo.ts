// A deployment repository for a real cluster: the same values layout as the simulated demo, plus a
// chart and a helmfile, with `deploy.type: helm` or `helmfile`. Used by `npm run demo -- --cluster`
// and the end-to-end tests.
import { appValueBlocks, seedBareRepo, type SampleEnvironment } from './sample-repo.js';

export interface HelmSampleOptions {
  dir: string;
  environments: SampleEnvironment[];
  /** App name → initial tag. */
  apps: Record<string, string>;
  type: 'helm' | 'helmfile';
  /** Prefix of each environment's namespace, so runs never reuse a namespace (default `shop-`). */
  namespacePrefix?: string;
  /** helm `--timeout` (default 2m). */
  timeout?: string;
  /** An optional smoke test argv run after each apply. */
  verify?: string[];
}

/**
 * The name of a ConfigMap that, when present in a namespace, makes the chart's Deployments real
 * rollouts. No controller-manager runs in the local cluster, so such a rollout never becomes ready
 * and `helm upgrade --wait` blocks: how the tests stall an upgrade on purpose. Without it the
 * Deployments are paused, which helm counts as ready.
 */
export const STALL_CONFIGMAP = 'promote-stall-rollouts';

const CHART_YAML = `apiVersion: v2
name: shop
description: The shop services, one Deployment per app found in the values.
version: 0.1.0
`;

const APP_TEMPLATE = `{{- $stall := lookup "v1" "ConfigMap" .Release.Namespace "${STALL_CONFIGMAP}" }}
{{- range $name, $app := .Values }}
{{- if and (kindIs "map" $app) (hasKey $app "image") }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    app: {{ $name }}
spec:
  replicas: {{ $app.replicas | default 1 }}
  # With no controller-manager, only a paused Deployment counts as ready for helm --wait.
  paused: {{ not $stall }}
  selector:
    matchLabels:
      app: {{ $name }}
  template:
    metadata:
      labels:
        app: {{ $name }}
    spec:
      containers:
        - name: {{ $name }}
          image: "{{ $app.image.repository }}:{{ $app.image.tag }}"
{{- end }}
{{- end }}
`;

const SECRET_TEMPLATE = `apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-settings
stringData:
  environment: {{ .Values.environment | default "unknown" | quote }}
  apiKey: {{ printf "%s-%s" .Release.Name (.Values.environment | default "unknown") | sha256sum | quote }}
`;

/** One chart per app for helmfile: the values are the app's own block. */
const APP_CHART_TEMPLATE = `{{- $stall := lookup "v1" "ConfigMap" .Release.Namespace "${STALL_CONFIGMAP}" }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas | default 1 }}
  paused: {{ not $stall }}
  selector:
    matchLabels:
      app: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}
    spec:
      containers:
        - name: {{ .Release.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
`;

function valuesYaml(env: string, apps: Record<string, string>): string {
  const blocks = appValueBlocks(apps, { replicas: 1, withRevision: false });
  return `# Values for the ${env} environment.
environment: ${env}

${blocks}`;
}

function helmfileYaml(environments: SampleEnvironment[], apps: string[], prefix: string): string {
  const envs = environments
    .map((e) => `  ${e.name}:\n    values:\n      - environments/${e.name}.yaml\n`)
    .join('');
  const releases = apps
    .map(
      (app) => `  - name: ${app}
    namespace: ${prefix}{{ .Environment.Name }}
    chart: ./charts/app
    values:
      - image:
          repository: {{ .Values.${app}.image.repository }}
          tag: "{{ .Values.${app}.image.tag }}"
        replicas: {{ .Values.${app}.replicas }}
`,
    )
    .join('');
  return `# One release per app; each environment's values file feeds them.
environments:
${envs}---
releases:
${releases}`;
}

function promoteYaml(options: HelmSampleOptions, prefix: string): string {
  const envs = options.environments
    .map(
      (e) =>
        `  - name: ${e.name}\n    valuesFile: environments/${e.name}.yaml\n    approval: ${e.approval}\n`,
    )
    .join('');
  const apps = Object.keys(options.apps)
    .map((a) => `  ${a}:\n    tagPath: ${a}.image.tag\n`)
    .join('');
  const verify = options.verify ? `  verify: ${JSON.stringify(options.verify)}\n` : '';
  const deploy =
    options.type === 'helm'
      ? `deploy:
  type: helm
  namespace: ${prefix}{env}
  timeout: ${options.timeout ?? '2m'}
${verify}  releases:
    - name: shop
      chart: charts/shop
`
      : `deploy:
  type: helmfile
  command: sync
  timeout: ${options.timeout ?? '2m'}
${verify}`;
  return `branch: main
environments:
${envs}apps:
${apps}${deploy}`;
}

/** Creates the bare repository with one initial commit. */
export async function createHelmSampleRepo(options: HelmSampleOptions): Promise<string> {
  const prefix = options.namespacePrefix ?? 'shop-';
  const files: Record<string, string> = {
    'promote.yaml': promoteYaml(options, prefix),
    'charts/shop/Chart.yaml': CHART_YAML,
    'charts/shop/templates/apps.yaml': APP_TEMPLATE,
    'charts/shop/templates/secret.yaml': SECRET_TEMPLATE,
    'charts/app/Chart.yaml': CHART_YAML.replace('name: shop', 'name: app'),
    'charts/app/templates/deployment.yaml': APP_CHART_TEMPLATE,
    'helmfile.yaml.gotmpl': helmfileYaml(options.environments, Object.keys(options.apps), prefix),
    ...Object.fromEntries(
      options.environments.map((e) => [`environments/${e.name}.yaml`, valuesYaml(e.name, options.apps)]),
    ),
  };
  await seedBareRepo(options.dir, files);
  return options.dir;
}
