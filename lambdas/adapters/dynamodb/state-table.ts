/**
 * The state table: one DynamoDB table for projects, blocks, environments, per-environment block
 * configuration, releases, deployments, builds and clients. The CDK stack and the local platform both
 * create it from this definition.
 *
 * Keys come from the access patterns. Children live under their parent's *id*, not its name: a
 * deleted-then-recreated name never sees the old children, and clean-up after a delete can lag.
 *
 * | access pattern                                  | key condition                                            |
 * |-------------------------------------------------|----------------------------------------------------------|
 * | project by name; list projects by name          | pk = `PROJECTS`, sk = `PROJECT#<name>` / begins_with      |
 * | project by id (gateway -> plan)                 | GSI `byId`: id = `PROJECT#<projectId>`                   |
 * | block by name; list a project's blocks          | pk = `PROJECT#<projectId>`, sk = `BLOCK#<name>`          |
 * | environment by name; list a project's envs      | pk = `PROJECT#<projectId>`, sk = `ENV#<name>`            |
 * | environment by id (gateway routing)             | GSI `byId`: id = `ENV#<envId>`                           |
 * | release by version; list releases, newest first | pk = `PROJECT#<projectId>`, sk = `RELEASE#<000001.000002.000003>` (zero-padded, sorts by version) |
 * | config of a block in an env; all of an env's    | pk = `ENV#<envId>`, sk = `CONFIG#<blockId>`              |
 * | deployments of an env, newest first             | pk = `ENV#<envId>`, sk = `DEPLOY#<time-ordered id>`       |
 * | builds of a block, newest first                 | pk = `BLOCK#<blockId>`, sk = `BUILD#<time-ordered id>`    |
 * | client of an env (authorize, token check); list | pk = `ENV#<envId>`, sk = `CLIENT#<clientId>`             |
 * | runs of a job in an env, newest first           | pk = `ENV#<envId>`, sk = `RUN#<job>#<time-ordered id>`    |
 * | the run a job is running now (its lock)         | pk = `ENV#<envId>`, sk = `JOBLOCK#<job>`                 |
 *
 * Uniqueness (project names, block/env names per project, release versions per project) is the
 * primary key itself, enforced with `attribute_not_exists(pk)` on create. Updates are conditional
 * on the item's `rev`. There are no transactions (dynalite has none): multi-item operations write
 * children first and the parent last (the commit point), and delete the parent first.
 */
export const STATE_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  byIdIndex: { name: 'byId', partitionKey: 'gsi1pk' },
} as const;

export const keys = {
  projects: () => 'PROJECTS',
  project: (name: string) => `PROJECT#${name}`,
  projectId: (projectId: string) => `PROJECT#${projectId}`,
  block: (name: string) => `BLOCK#${name}`,
  env: (name: string) => `ENV#${name}`,
  envId: (envId: string) => `ENV#${envId}`,
  release: (sortable: string) => `RELEASE#${sortable}`,
  config: (blockId: string) => `CONFIG#${blockId}`,
  deployment: (id: string) => `DEPLOY#${id}`,
  blockId: (blockId: string) => `BLOCK#${blockId}`,
  build: (id: string) => `BUILD#${id}`,
  client: (clientId: string) => `CLIENT#${clientId}`,
  jobRuns: (job?: string) => (job ? `RUN#${job}#` : 'RUN#'),
  jobLock: (job: string) => `JOBLOCK#${job}`,
} as const;
