import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { PROJECT_ROOT } from '../server/tools.js';
import { workflowBundleOptions } from '../worker/bundle.js';

/**
 * The workflow modules are preloaded: evaluated once and shared by every workflow the worker runs
 * (worker/bundle.ts). The SDK deep-freezes what they export, which refuses a write to a plain object or
 * array, but a `let` of a module scope, a Map or Set it keeps, or a class's static field would be one
 * variable for every promotion and lock at once: a value written for one workflow read by another, and
 * a replay depending on what other workflows did. No module of the bundle may have one.
 */
function moduleScopeState(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const where = (node: ts.Node) =>
    `${fileName}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  for (const statement of source.statements) {
    if (ts.isVariableStatement(statement)) {
      const list = statement.declarationList;
      const constant = (list.flags & ts.NodeFlags.Const) !== 0;
      for (const declaration of list.declarations) {
        const name = declaration.name.getText(source);
        if (!constant) found.push(`${where(declaration)} \`${name}\` is a mutable module variable`);
        const init = declaration.initializer;
        const collection =
          init && ts.isNewExpression(init) && /^(Weak)?(Map|Set)$/.test(init.expression.getText(source));
        const readOnly = /^Readonly(Map|Set)\b/.test(declaration.type?.getText(source) ?? '');
        if (collection && !readOnly)
          found.push(`${where(declaration)} \`${name}\` is a module-scope collection not typed read-only`);
      }
    }
    if (ts.isClassDeclaration(statement))
      for (const member of statement.members) {
        const modifiers = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : [];
        const isStatic = modifiers.some((m) => m.kind === ts.SyntaxKind.StaticKeyword);
        const isReadonly = modifiers.some((m) => m.kind === ts.SyntaxKind.ReadonlyKeyword);
        if (ts.isPropertyDeclaration(member) && isStatic && !isReadonly)
          found.push(`${where(member)} static field \`${member.name.getText(source)}\` is writable`);
      }
  }
  return found;
}

let bundled: string[] = [];

beforeAll(async () => {
  const { code } = await bundleWorkflowCode({
    ...workflowBundleOptions(),
    logger: new DefaultLogger('ERROR'),
  });
  // webpack names each module by its path: the project's own are dist/<dir>/<name>.js, from <dir>/<name>.ts.
  bundled = [...new Set([...code.matchAll(/"\.\/dist\/([\w/-]+)\.js"/g)].map((m) => `${m[1]}.ts`))];
});

describe('the preloaded workflow modules', () => {
  it('are the workflows and what they import, shared through the bundle', () => {
    expect(bundled).toEqual(
      expect.arrayContaining(['workflows/index.ts', 'workflows/promote.ts', 'common/ids.ts']),
    );
  });

  it('keep no state of their own that one workflow could leave for another', () => {
    const found = bundled.flatMap((file) =>
      moduleScopeState(
        relative(PROJECT_ROOT, join(PROJECT_ROOT, file)),
        readFileSync(join(PROJECT_ROOT, file), 'utf8'),
      ),
    );
    expect(found).toEqual([]);
  });

  it('would be caught keeping some', () => {
    const planted = [
      'let attempts = 0;',
      'var seen = [];',
      'const byRun = new Map<string, number>();',
      'const fine = new Set<string>(["a"]) as ReadonlySet<string>;',
      'const typed: ReadonlySet<string> = new Set(["a"]);',
      'class Counter { static count = 0; static readonly max = 3; }',
    ].join('\n');
    expect(moduleScopeState('planted.ts', planted)).toEqual([
      'planted.ts:1 `attempts` is a mutable module variable',
      'planted.ts:2 `seen` is a mutable module variable',
      'planted.ts:3 `byRun` is a module-scope collection not typed read-only',
      'planted.ts:6 static field `count` is writable',
    ]);
  });
});
