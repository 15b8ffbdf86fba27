// Imports run one way (docs/development.md, "Layers"): common/ <- config/ <- activities/ <- workflows/
// <- worker/ <- client/. A local ESLint plugin rather than a dependency: the rule is a table and a path
// comparison, and `npm run lint` fails on an upward import or a cycle the moment one is written.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Each layer may import its own folder and the ones listed before it, never one after it. */
const LAYERS = ['common', 'config', 'activities', 'workflows', 'worker', 'client'];
/** What workflows/ may import only as types: their values run outside the workflow sandbox. */
const TYPES_ONLY_FOR_WORKFLOWS = ['config', 'activities'];
/** Folders outside the layers that a layer may still import (client/ runs `promote serve`'s dev server). */
const OUTSIDE_ALLOWED = { server: ['client'] };

const topFolder = (file) => relative(ROOT, file).split(sep)[0];

/** The .ts file a relative specifier names (`./x.js` is compiled from `./x.ts`). */
function resolveSource(fromFile, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const target = resolve(dirname(fromFile), specifier);
  const ts = target.replace(/\.js$/, '.ts');
  if (existsSync(ts)) return ts;
  if (existsSync(join(target, 'index.ts'))) return join(target, 'index.ts');
  return target;
}

function isTypeOnly(node) {
  if (node.importKind === 'type' || node.exportKind === 'type') return true;
  const specifiers = node.specifiers ?? [];
  return (
    node.type === 'ImportDeclaration' &&
    specifiers.length > 0 &&
    specifiers.every((s) => s.importKind === 'type')
  );
}

/** The import statements of a file (static and dynamic), each with the node to report on. */
function importsOf(check) {
  const visit = (node) => {
    if (node.source?.type === 'Literal' && typeof node.source.value === 'string')
      check(node, node.source.value);
  };
  return {
    ImportDeclaration: visit,
    ExportNamedDeclaration: visit,
    ExportAllDeclaration: visit,
    ImportExpression: visit,
  };
}

const oneWay = {
  meta: {
    type: 'problem',
    docs: {
      description: 'Imports run one way: common <- config <- activities <- workflows <- worker <- client',
    },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const from = topFolder(file);
    const level = LAYERS.indexOf(from);
    if (level < 0) return {}; // test/, bench/, demo/, server/, scripts/ may import anything
    return importsOf((node, specifier) => {
      const target = resolveSource(file, specifier);
      if (!target) return;
      const to = topFolder(target);
      const targetLevel = LAYERS.indexOf(to);
      if (targetLevel < 0) {
        if (target.startsWith(ROOT + sep) && !OUTSIDE_ALLOWED[to]?.includes(from))
          context.report({
            node,
            message: `${from}/ must not import ${to}/ (${specifier}): only tests and tools may`,
          });
        return;
      }
      if (targetLevel > level) {
        const allowed = LAYERS.slice(0, level + 1).join('/, ');
        context.report({
          node,
          message: `${from}/ imports ${to}/ (${specifier}), a layer above it: ${from}/ may import ${allowed}/ only. Move the shared shape or function down (docs/development.md, "Layers").`,
        });
        return;
      }
      if (from === 'workflows' && TYPES_ONLY_FOR_WORKFLOWS.includes(to) && !isTypeOnly(node)) {
        context.report({
          node,
          message: `workflows/ imports ${to}/ by type only (\`import type\`): its code does not run in the workflow sandbox`,
        });
      }
    });
  },
};

/** The relative imports of a file read from disk, type-only ones included; cached for one lint run. */
const graph = new Map();
function edgesOf(file) {
  let edges = graph.get(file);
  if (edges) return edges;
  edges = [];
  graph.set(file, edges);
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return edges;
  }
  const pattern =
    /(?:^|\n)\s*(?:import|export)\s[^'"]*?\sfrom\s+['"](\.[^'"]+)['"]|(?:^|\n)\s*import\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const match of text.matchAll(pattern)) {
    const target = resolveSource(file, match[1] ?? match[2] ?? match[3]);
    if (target && LAYERS.includes(topFolder(target))) edges.push(target);
  }
  return edges;
}

/** A path of imports from `start` back to `goal`, if one exists. */
function pathBack(start, goal) {
  const seen = new Set();
  const stack = [[start, [start]]];
  while (stack.length > 0) {
    const [file, path] = stack.pop();
    if (file === goal) return path;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const next of edgesOf(file)) stack.push([next, [...path, next]]);
  }
  return undefined;
}

const noCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'No import cycle among the layered folders' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    if (!LAYERS.includes(topFolder(file))) return {};
    return importsOf((node, specifier) => {
      const target = resolveSource(file, specifier);
      if (!target || !LAYERS.includes(topFolder(target))) return;
      const cycle = pathBack(target, file);
      if (cycle) {
        const names = [file, ...cycle].map((f) => relative(ROOT, f)).join(' -> ');
        context.report({
          node,
          message: `import cycle: ${names}. Move what both need into a module of its own.`,
        });
      }
    });
  },
};

export default { meta: { name: 'arrows' }, rules: { 'one-way': oneWay, 'no-cycle': noCycle } };
