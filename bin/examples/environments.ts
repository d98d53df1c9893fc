/**
 * Environment descriptions for the environment stack's tests, its cost guard and the synth bench:
 * the example file beside this one, and environments of any number of blocks.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvironmentBlock, EnvironmentDescription, PlatformRefs } from '../../lambdas/adapters/aws/runtime/environment-description';

/** `bin/examples/environment.json`: a protected microservice, a public website with a password, an internal service, a pre-deploy job and a cron job. */
export const EXAMPLE_DESCRIPTION_FILE = join(__dirname, 'environment.json');

export function exampleDescription(): EnvironmentDescription {
  return JSON.parse(readFileSync(EXAMPLE_DESCRIPTION_FILE, 'utf8')) as EnvironmentDescription;
}

/** The platform's parts, as the platform stack's outputs would name them (the example file's). */
export const EXAMPLE_PLATFORM: PlatformRefs = exampleDescription().platform;

/** A block with the defaults of its type (README: websites public, microservices protected, jobs internal). */
export function exampleBlock(name: string, type: EnvironmentBlock['type'], extra: Partial<EnvironmentBlock> = {}): EnvironmentBlock {
  const visibility = type === 'website' ? 'public' : type === 'microservice' ? 'protected' : 'internal';
  return {
    name,
    type,
    visibility,
    memoryMb: 512,
    variables: { KINTO_BLOCK: name, KINTO_RELEASE: '1.0.0' },
    commit: '0123456789abcdef0123456789abcdef01234567',
    ...(type === 'job' ? { kind: 'pre-deploy', timeoutSeconds: 900 } : {}),
    ...extra,
  };
}

/** An environment of the given blocks (envId, project and names of the example). */
export function exampleEnvironment(blocks: EnvironmentBlock[], extra: Partial<EnvironmentDescription> = {}): EnvironmentDescription {
  return {
    envId: 'c4f3a9d2e1b04c8f9a7d6e5f4a3b2c1d',
    project: 'shop',
    environment: 'dev',
    release: '1.0.0',
    platform: EXAMPLE_PLATFORM,
    blocks,
    ...extra,
  };
}

/**
 * The ten blocks that repeat in `manyBlocks`: half served by the gateway (two protected
 * microservices, a public website, a public and an internal microservice), half jobs (pre-deploy,
 * post-deploy, three cron jobs).
 */
const ROTATION: ((n: string) => EnvironmentBlock)[] = [
  (n) => exampleBlock(`api-${n}`, 'microservice'),
  (n) => exampleBlock(`orders-${n}`, 'microservice', { secretNames: ['DATABASE_URL'] }),
  (n) => exampleBlock(`site-${n}`, 'website', { kind: 'dynamic' }),
  (n) => exampleBlock(`users-${n}`, 'microservice', { visibility: 'internal' }),
  (n) => exampleBlock(`hook-${n}`, 'microservice', { visibility: 'public' }),
  (n) => exampleBlock(`migrate-${n}`, 'job', { kind: 'pre-deploy' }),
  (n) => exampleBlock(`warm-${n}`, 'job', { kind: 'post-deploy', timeoutSeconds: 60 }),
  (n) => exampleBlock(`nightly-${n}`, 'job', { kind: 'cron', schedule: '30 2 * * *' }),
  (n) => exampleBlock(`weekly-${n}`, 'job', { kind: 'cron', schedule: '0 6 * * 1' }),
  (n) => exampleBlock(`sweep-${n}`, 'job', { kind: 'cron', schedule: '*/15 * * * *' }),
];

/** `count` blocks of every type, in the rotation above. */
export function manyBlocks(count: number): EnvironmentBlock[] {
  return Array.from({ length: count }, (_, i) => ROTATION[i % ROTATION.length](String(i + 1).padStart(2, '0')));
}
