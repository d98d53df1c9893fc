import type { Block, BlockConfig, Build, Client, Deployment, Environment, JobLock, JobRun, Project, Release } from '../core/model';

/** One page of a listing, and the cursor for the next one when there is more. */
export interface Page<T> {
  readonly items: T[];
  readonly cursor?: string;
}

export interface ListOptions {
  /** At most this many items (the store may cap it). */
  readonly limit?: number;
  /** Opaque cursor from a previous page. */
  readonly cursor?: string;
  /** Sort-key order descending (newest first for time-ordered ids). */
  readonly descending?: boolean;
}

/**
 * A kind of stored item. Writes are conditional so that concurrent requests never lose or
 * duplicate state: `create` fails if the key exists, `update` fails unless the stored `rev`
 * equals `item.rev` (and stores `rev + 1`).
 */
export interface Collection<T, Key, Parent> {
  get(key: Key): Promise<T | undefined>;
  list(parent: Parent, options?: ListOptions): Promise<Page<T>>;
  /** @throws WriteConflictError if an item with the same key exists. */
  create(item: T): Promise<T>;
  /** @throws WriteConflictError if the item changed or vanished since `item.rev` was read. */
  update(item: T): Promise<T>;
  remove(key: Key): Promise<void>;
  /** Removes every item under `parent` (cleanup after a commit point; idempotent). */
  removeAll(parent: Parent): Promise<void>;
}

export type ProjectKey = { name: string };
export type ProjectScoped<K extends object = object> = { projectId: string } & K;
export type EnvScoped<K extends object = object> = { envId: string } & K;
export type BlockScoped<K extends object = object> = { blockId: string } & K;

export interface Store {
  readonly projects: Collection<Project, ProjectKey, object> & {
    getById(id: string): Promise<Project | undefined>;
  };
  readonly blocks: Collection<Block, ProjectScoped<{ name: string }>, ProjectScoped>;
  readonly environments: Collection<Environment, ProjectScoped<{ name: string }>, ProjectScoped> & {
    /** Finds an environment by its id (the gateway's routing key). */
    getById(id: string): Promise<Environment | undefined>;
  };
  readonly blockConfigs: Collection<BlockConfig, EnvScoped<{ blockId: string }>, EnvScoped>;
  readonly releases: Collection<Release, ProjectScoped<{ version: string }>, ProjectScoped>;
  readonly deployments: Collection<Deployment, EnvScoped<{ id: string }>, EnvScoped>;
  readonly builds: Collection<Build, BlockScoped<{ id: string }>, BlockScoped>;
  /** An environment's client credentials (secret hashes only). */
  readonly clients: Collection<Client, EnvScoped<{ clientId: string }>, EnvScoped>;
  /** Runs of an environment's jobs; listed per job (`job` set) or all (newest first per job). */
  readonly jobRuns: Collection<JobRun, EnvScoped<{ job: string; id: string }>, EnvScoped<{ job?: string }>>;
  /** One per job while it runs: `create` is the lock (it fails while another run holds it). */
  readonly jobLocks: Collection<JobLock, EnvScoped<{ job: string }>, EnvScoped>;
}

/** A conditional write lost: the item exists (create) or changed (update). */
export class WriteConflictError extends Error {
  public override readonly name = 'WriteConflictError';
}

/** A cursor that the store did not issue, or issued for another listing. */
export class InvalidCursorError extends Error {
  public override readonly name = 'InvalidCursorError';
}
