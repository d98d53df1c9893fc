import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread running one of the platform's TypeScript files (`file`: an absolute path), as
 * the main thread runs them: through esbuild-register, under `npm start` and jest alike. It gets
 * the process environment as it is now.
 */
export function startTsWorker(file: string, options: Omit<WorkerOptions, 'eval' | 'env'> = {}): Worker {
  const bootstrap = `require(${JSON.stringify(require.resolve('esbuild-register/dist/node'))}).register({ target: 'node20' });
require(${JSON.stringify(file)});`;
  return new Worker(bootstrap, { ...options, eval: true, env: process.env });
}
