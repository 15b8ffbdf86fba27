import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import { builtinModules } from 'node:module';
import arrows from './scripts/eslint-arrows.mjs';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.promote/', '.tools/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs', 'bin/*.js'] } },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Imports run one way: common <- config <- activities <- workflows (types only) <- worker <- client,
    // with no cycle (docs/development.md, "Layers"). test/, bench/, demo/, server/, scripts/ import anything.
    files: ['{common,config,activities,workflows,worker,client}/**/*.ts'],
    plugins: { arrows },
    rules: { 'arrows/one-way': 'error', 'arrows/no-cycle': 'error' },
  },
  {
    // Workflow code is replayed deterministically inside Temporal's sandbox: no I/O, no Node APIs.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.flatMap((m) => [m, `node:${m}`]),
          patterns: [
            {
              group: ['../activities/*', '!../activities/index.js'],
              message: 'Workflows import activities by type only.',
            },
          ],
        },
      ],
    },
  },
  {
    // Code the worker runs shares one event loop with every activity's heartbeats and cancellation: a
    // synchronous child process stalls them all (a deploy attempt then looks lost and is retried).
    files: ['activities/**/*.ts', 'worker/**/*.ts', 'common/**/*.ts', 'config/**/*.ts', 'client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['child_process', 'node:child_process'].map((name) => ({
            name,
            importNames: ['execSync', 'execFileSync', 'spawnSync'],
            message: 'The worker must not block its event loop: use runCommand (activities/command.ts).',
          })),
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'MemberExpression[property.name=/^(execSync|execFileSync|spawnSync)$/]',
          message: 'The worker must not block its event loop: use runCommand (activities/command.ts).',
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  prettier,
);
