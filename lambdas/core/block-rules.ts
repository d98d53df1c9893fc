import { badRequest } from './errors';
import type { BlockDefinition } from './model';

const WEBSITE_KINDS: readonly string[] = ['static', 'static-build', 'dynamic'];
const JOB_KINDS: readonly string[] = ['pre-deploy', 'post-deploy', 'cron'];

/**
 * Checks that type, kind, schedule and build settings make a block Kinto can build and run.
 * @throws KintoError INVALID_BLOCK (400) naming the field to fix.
 */
export function checkBlockDefinition(def: BlockDefinition): void {
  const fail = (message: string): never => {
    throw badRequest('INVALID_BLOCK', message);
  };
  const { type, kind, build } = def;
  const runnable = Boolean(build.startCommand || build.dockerfile);
  switch (type) {
    case 'website':
      if (!kind || !WEBSITE_KINDS.includes(kind)) fail(`A website needs "kind": one of ${WEBSITE_KINDS.join(', ')}.`);
      if (kind === 'static-build' && !(build.buildCommand && build.outputDir)) {
        fail('A static-build website needs build.buildCommand and build.outputDir (the folder the build writes the site to).');
      }
      if (kind === 'dynamic' && !runnable)
        fail('A dynamic website needs build.startCommand (or build.dockerfile): the command that starts its HTTP server on $PORT.');
      if (kind === 'static' && build.startCommand)
        fail('A static website is served from its files: remove build.startCommand, or use kind "dynamic".');
      break;
    case 'microservice':
      if (kind) fail('A microservice has no "kind"; remove it.');
      if (!runnable)
        fail('A microservice needs build.startCommand (or build.dockerfile): the command that starts its HTTP server on $PORT.');
      break;
    case 'custom-service':
      if (kind) fail('A custom service has no "kind"; remove it.');
      if (!runnable) fail('A custom service needs build.dockerfile (or build.startCommand): how to start the service.');
      break;
    case 'job':
      if (!kind || !JOB_KINDS.includes(kind)) fail(`A job needs "kind": one of ${JOB_KINDS.join(', ')}.`);
      if (!runnable) fail('A job needs build.startCommand (or build.dockerfile): the command that runs the job.');
      if (kind === 'cron' && !def.schedule) fail('A cron job needs "schedule", a 5-field cron expression in UTC such as "0 3 * * *".');
      break;
  }
  if (def.schedule && kind !== 'cron') fail('Only cron jobs have a "schedule"; remove it.');
  for (const [name, spec] of Object.entries(def.variables)) {
    if (spec.required && spec.default !== undefined)
      fail(`Variable ${name} is required and has a default; a default already satisfies it, so drop one of them.`);
  }
}
