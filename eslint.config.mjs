// Lint: typescript-eslint's type-checked rules, the layer rules (eslint-plugin-boundaries) and no
// import circles (eslint-plugin-import-x). `npm run lint` checks, `npm run fix` also rewrites.
import boundaries from 'eslint-plugin-boundaries';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** The layers, inside out; a layer imports only those its policy names. */
const layers = [
  // The deployer Lambda synthesizes environment stacks at deploy time: the one handler that may use lib/.
  { type: 'deployer-entry', pattern: 'lambdas/handlers/deployer' },
  { type: 'core', pattern: 'lambdas/core' },
  { type: 'ports', pattern: 'lambdas/ports' },
  { type: 'adapters', pattern: 'lambdas/adapters' },
  { type: 'handlers', pattern: 'lambdas/handlers' },
  { type: 'local-host', pattern: 'lambdas/local' },
  { type: 'constructs', pattern: 'lib' },
  { type: 'entry-points', pattern: 'bin' },
  // The typed API client (shared by the console and the CLI); its generator reads the route table.
  { type: 'api-client', pattern: 'client' },
  // The `kinto` CLI's commands: they reach the platform through the API client only.
  { type: 'cli', pattern: 'cli' },
];
const may = (from, to) => ({ from: { element: { type: from } }, allow: { to: { element: { types: { anyOf: to } } } } });

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'cdk.out/',
      'coverage/',
      'console/dist/',
      'test/artifacts/',
      'bench/fixtures/',
      '**/*.js',
      '**/*.mjs',
      '**/*.d.ts',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { boundaries, 'import-x': importX },
    settings: {
      'boundaries/elements': layers,
      'boundaries/include': ['lambdas/**/*.ts', 'lib/**/*.ts', 'bin/**/*.ts', 'client/**/*.ts', 'cli/**/*.ts'],
      ...importX.flatConfigs.typescript.settings,
      'import/resolver': { typescript: true, node: true },
      'import-x/resolver-next': [createTypeScriptImportResolver()],
    },
    rules: {
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          message: 'A {{from.type}} file may not import from {{to.type}}: imports point inward (README, Development).',
          policies: [
            may('core', ['core', 'ports']),
            may('ports', ['ports', 'core']),
            may('adapters', ['adapters', 'core', 'ports']),
            may('handlers', ['handlers', 'adapters', 'core', 'ports']),
            may('deployer-entry', ['constructs', 'handlers', 'adapters', 'core', 'ports']),
            may('local-host', ['local-host', 'handlers', 'adapters', 'core', 'ports']),
            may('constructs', ['constructs', 'handlers', 'adapters', 'core', 'ports']),
            may('entry-points', ['entry-points', 'cli', 'api-client', 'constructs', 'local-host', 'handlers', 'adapters', 'core', 'ports']),
            may('api-client', ['api-client', 'handlers']),
            may('cli', ['cli', 'api-client']),
          ],
        },
      ],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // Route handlers and port methods are async by contract, whether or not this one awaits.
      '@typescript-eslint/require-await': 'off',
      // A late-bound `let` read by closures before it is set (a knot tied after start-up) stays a let.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // The console (browser code, Preact): the same type-checked rules, against its own tsconfigs, whose DOM
    // lib declares the browser's globals (no-undef is off for TypeScript); its Node side (Vite config,
    // build step) has tsconfig.node.json.
    files: ['console/**/*.ts', 'console/**/*.tsx', 'console/**/*.mts'],
    languageOptions: {
      parserOptions: {
        projectService: false,
        project: ['console/tsconfig.json', 'console/tsconfig.node.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    // Tests and benches read JSON answers and fake SDK clients: `any` is how they say "whatever came".
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  prettier,
);
