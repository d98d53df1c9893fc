/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

/**
 * Tests run the real parts: dynalite for DynamoDB, real git, real child processes.
 * Type checking is `tsc --noEmit` (part of `npm test`), so ts-jest only transpiles.
 * jose and middy ship ESM only; they are transpiled to CommonJS for jest's module loader.
 */
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['<rootDir>/test/support/env.ts'],
  transform: {
    '^.+\\.[tj]s$': [
      'ts-jest',
      { tsconfig: { allowJs: true, isolatedModules: true, module: 'commonjs', target: 'ES2022', esModuleInterop: true } },
    ],
  },
  transformIgnorePatterns: ['node_modules/(?!(jose|@middy)/)'],
  testTimeout: 30_000,
  maxWorkers: 2,
};

export default config;
