// Builds the binaries of a real (if minimal) Kubernetes control plane plus helm and helmfile, at pinned
// versions, from the Go module proxy alone: no Docker, no release tarballs. Everything lands in the
// git-ignored tools folder, Go's module and build caches included, so a second run only checks stamps.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT, ToolMissingError, toolsDir } from './tools.js';

export type ClusterToolName = 'helm' | 'helmfile' | 'etcd' | 'kube-apiserver';

interface GoTool {
  name: ClusterToolName;
  version: string;
  /** `go install pkg@version` when the module allows it… */
  install?: string;
  /** …or a wrapper module (go.mod + main.go) built with `go build`, when its replace directives forbid it. */
  wrapper?: () => Promise<{ goMod: string; mainGo: string }>;
  ldflags?: string[];
  /** Environment variable that points at an existing binary instead. */
  envVar: string;
}

const HELM_VERSION = 'v3.22.0';
const HELMFILE_VERSION = 'v1.8.0';
const ETCD_VERSION = 'v3.6.16';
const KUBERNETES_VERSION = 'v1.35.4';

export const CLUSTER_TOOLS: Record<ClusterToolName, GoTool> = {
  helm: {
    name: 'helm',
    version: HELM_VERSION,
    install: `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`,
    ldflags: [`-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}`],
    envVar: 'PROMOTE_HELM_PATH',
  },
  helmfile: {
    name: 'helmfile',
    version: HELMFILE_VERSION,
    // Its go.mod has replace directives too, so `go install` refuses it: same main, in a wrapper module.
    wrapper: helmfileWrapper,
    ldflags: [`-X go.szostok.io/version.version=${HELMFILE_VERSION}`],
    envVar: 'PROMOTE_HELMFILE_PATH',
  },
  etcd: {
    name: 'etcd',
    version: ETCD_VERSION,
    // etcd's own main module has replace directives, so `go install` refuses it: call etcdmain.Main.
    wrapper: () =>
      Promise.resolve({
        goMod: `module promote.local/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 ${ETCD_VERSION}\n`,
        mainGo:
          'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\n' +
          'func main() { etcdmain.Main(os.Args) }\n',
      }),
    envVar: 'PROMOTE_ETCD_PATH',
  },
  'kube-apiserver': {
    name: 'kube-apiserver',
    version: KUBERNETES_VERSION,
    wrapper: kubeApiserverWrapper,
    // Without these /version says v0.0.0 and charts with a `kubeVersion` constraint refuse to install.
    ldflags: [
      `-X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION}`,
      `-X k8s.io/component-base/version.gitMajor=${KUBERNETES_VERSION.split('.')[0]!.slice(1)}`,
      `-X k8s.io/component-base/version.gitMinor=${KUBERNETES_VERSION.split('.')[1]}`,
      `-X k8s.io/component-base/version.gitTreeState=clean`,
    ],
    envVar: 'PROMOTE_KUBE_APISERVER_PATH',
  },
};

function goDir(): string {
  return join(toolsDir(), 'go');
}

/** Go's module and build caches live in the tools folder too: a second build only links, or less. */
function goEnv(): Record<string, string> {
  const dir = goDir();
  return {
    GOPATH: dir,
    GOMODCACHE: join(dir, 'mod'),
    GOCACHE: join(dir, 'cache'),
    // -modcacherw: module cache files are read-only by default, which makes `rm -rf .tools` fail.
    GOFLAGS: '-mod=mod -modcacherw -buildvcs=false',
    CGO_ENABLED: '0',
  };
}

function binDir(tool: GoTool): string {
  return join(toolsDir(), 'cluster', `${tool.name}-${tool.version}`);
}

function binPath(tool: GoTool): string {
  return join(binDir(tool), tool.name);
}

/** Downloads a module (into the tools folder's cache) and returns its go.mod path and source folder. */
async function download(module: string): Promise<{ GoMod: string; Dir: string }> {
  const result = await execa('go', ['mod', 'download', '-json', module], { env: goEnv(), reject: false });
  if (result.exitCode !== 0)
    throw new ToolMissingError(`go mod download ${module} failed: ${result.stdout || result.stderr}`);
  return JSON.parse(result.stdout) as { GoMod: string; Dir: string };
}

/** helmfile's own main.go, with its go.mod's replace directives copied as they are. */
async function helmfileWrapper(): Promise<{ goMod: string; mainGo: string }> {
  const info = await download(`github.com/helmfile/helmfile@${HELMFILE_VERSION}`);
  const block = /^replace \(\n([\s\S]*?)^\)/m.exec(readFileSync(info.GoMod, 'utf8'))?.[1] ?? '';
  const replaces = block
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.includes('=>') && !line.startsWith('//'));
  const goMod =
    `module promote.local/helmfile\n\ngo 1.24\n\nrequire github.com/helmfile/helmfile ${HELMFILE_VERSION}\n\n` +
    (replaces.length ? `replace (\n${replaces.map((r) => `\t${r}`).join('\n')}\n)\n` : '');
  return { goMod, mainGo: readFileSync(join(info.Dir, 'main.go'), 'utf8') };
}

/** The wrapper module of kube-apiserver: k8s.io/kubernetes plus its staging modules pinned by `replace`. */
async function kubeApiserverWrapper(): Promise<{ goMod: string; mainGo: string }> {
  const download = await execa(
    'go',
    ['mod', 'download', '-json', `k8s.io/kubernetes@${KUBERNETES_VERSION}`],
    {
      env: goEnv(),
      reject: false,
    },
  );
  if (download.exitCode !== 0)
    throw new ToolMissingError(
      `go mod download k8s.io/kubernetes@${KUBERNETES_VERSION} failed: ${download.stdout || download.stderr}`,
    );
  const info = JSON.parse(download.stdout) as { GoMod: string };
  // k8s.io/kubernetes replaces every staging module by a path inside its own tree; each is also
  // published as a module at v0.<minor>.<patch>, which is what a module outside the tree must use.
  const stagingVersion = KUBERNETES_VERSION.replace(/^v1\./, 'v0.');
  const replaces = [
    ...readFileSync(info.GoMod, 'utf8').matchAll(/^\s*(k8s\.io\/[\w.-]+) => \.\/staging\//gm),
  ].map((m) => `\t${m[1]} => ${m[1]} ${stagingVersion}`);
  if (replaces.length === 0)
    throw new ToolMissingError('no staging replace directives found in k8s.io/kubernetes go.mod');
  const goMod =
    `module promote.local/kube-apiserver\n\ngo 1.24\n\nrequire k8s.io/kubernetes ${KUBERNETES_VERSION}\n\n` +
    `replace (\n${replaces.join('\n')}\n)\n`;
  // The same main as cmd/kube-apiserver/apiserver.go.
  const mainGo = `package main

import (
	"os"
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
`;
  return { goMod, mainGo };
}

export interface BuildOptions {
  log?: (message: string) => void;
  /**
   * `go build -p`: parallel compile jobs (default `$PROMOTE_GO_BUILD_JOBS` or 1: a shared machine, and
   * kube-apiserver peaks at ~2 GB per job).
   */
  parallelism?: number;
}

async function build(tool: GoTool, options: BuildOptions): Promise<void> {
  const env = goEnv();
  const out = binPath(tool);
  mkdirSync(binDir(tool), { recursive: true });
  const ldflags = ['-s', '-w', ...(tool.ldflags ?? [])].join(' ');
  const p = String(options.parallelism ?? (Number(process.env.PROMOTE_GO_BUILD_JOBS) || 1));
  const started = Date.now();
  options.log?.(`building ${tool.name} ${tool.version} (cold: minutes; cached: seconds)…`);
  let result;
  if (tool.install) {
    result = await execa('go', ['install', '-p', p, '-trimpath', `-ldflags=${ldflags}`, tool.install], {
      env: { ...env, GOBIN: binDir(tool) },
      reject: false,
      cwd: PROJECT_ROOT,
    });
  } else {
    const src = join(toolsDir(), 'cluster', `${tool.name}-${tool.version}-src`);
    mkdirSync(src, { recursive: true });
    const { goMod, mainGo } = await tool.wrapper!();
    // Keep a go.mod/go.sum that `go build -mod=mod` already completed: rewriting it would re-resolve.
    if (!existsSync(join(src, 'go.mod')) || !existsSync(join(src, '.complete'))) {
      writeFileSync(join(src, 'go.mod'), goMod);
    }
    writeFileSync(join(src, 'main.go'), mainGo);
    result = await execa('go', ['build', '-p', p, '-trimpath', `-ldflags=${ldflags}`, '-o', out, '.'], {
      env,
      reject: false,
      cwd: src,
    });
    if (result.exitCode === 0) writeFileSync(join(src, '.complete'), '');
  }
  if (result.exitCode !== 0 || !existsSync(out)) {
    const tail = `${result.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new ToolMissingError(`building ${tool.name} ${tool.version} failed:\n${tail}`);
  }
  writeFileSync(join(binDir(tool), '.stamp'), JSON.stringify({ version: tool.version, ldflags }));
  options.log?.(`built ${tool.name} ${tool.version} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

function upToDate(tool: GoTool): boolean {
  const stamp = join(binDir(tool), '.stamp');
  if (!existsSync(binPath(tool)) || !existsSync(stamp)) return false;
  const ldflags = ['-s', '-w', ...(tool.ldflags ?? [])].join(' ');
  try {
    const recorded = JSON.parse(readFileSync(stamp, 'utf8')) as { version: string; ldflags: string };
    return recorded.version === tool.version && recorded.ldflags === ldflags;
  } catch {
    return false;
  }
}

/** The binary's path: from its env var, or built (once) into the tools folder. */
export async function ensureClusterTool(name: ClusterToolName, options: BuildOptions = {}): Promise<string> {
  const tool = CLUSTER_TOOLS[name];
  const fromEnv = process.env[tool.envVar];
  if (fromEnv) return fromEnv;
  if (!upToDate(tool)) await build(tool, options);
  return binPath(tool);
}

export type ClusterToolPaths = Record<ClusterToolName, string>;

/** Builds whatever is missing, one tool after the other (the Go builds would fight for the two cores). */
export async function ensureClusterTools(options: BuildOptions = {}): Promise<ClusterToolPaths> {
  const paths = {} as ClusterToolPaths;
  for (const name of Object.keys(CLUSTER_TOOLS) as ClusterToolName[]) {
    paths[name] = await ensureClusterTool(name, options);
  }
  return paths;
}
