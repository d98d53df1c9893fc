/**
 * The logs table: gateway access entries, block console lines (attached to a request by
 * `kinto_request_id`), blocks' plain instance logs and per-minute metrics. Written by the
 * `log-indexer` Lambda (AWS) and read by the control API. The CDK construct (`lib/logs-table.ts`)
 * and the local table helper create it from this definition.
 *
 * Every item carries `expiresAt` (epoch seconds, the table's TTL attribute). DynamoDB deletes
 * expired items some time later (up to days); reads filter them out, so an expired entry is never
 * returned even where it still exists (and dynalite never deletes).
 *
 * | access pattern                                             | key condition                                                          |
 * |------------------------------------------------------------|------------------------------------------------------------------------|
 * | a request's access entry and its console lines, in order   | pk = `REQ#<envId>#<requestId>`, sk = `A` (access) / `L#<time>#<seq>` (lines) |
 * | an environment's requests, newest first (`before` cursor)  | GSI `byEnv`: gsi1pk = `REQS#<envId>`, gsi1sk = `<time>#<requestId>`    |
 * | one block's requests in an environment, newest first       | GSI `byBlock`: gsi2pk = `REQS#<envId>#<block>`, gsi2sk = `<time>#<requestId>` |
 * | a block's instance log in a time range (either direction)  | pk = `LOG#<envId>#<block>`, sk = `<time>#<seq>` BETWEEN                |
 * | an environment's metrics per block per minute, in a range  | pk = `MET#<envId>`, sk = `<minute>#<block>` BETWEEN                    |
 *
 * Keys hold the environment *id*, never its name: a deleted-then-recreated environment does not
 * see the old one's logs, and a block cannot attach lines to another environment's requests.
 * Console lines whose request has no access entry (yet) are kept under the request's key: the
 * access entry may arrive later (a different log group, a different delivery).
 * Times in keys are ISO-8601 UTC with milliseconds (`2025-01-02T03:04:05.678Z`), so they sort as
 * strings. `seq` makes a line's key unique and idempotent: the CloudWatch event id on AWS (a
 * redelivered batch overwrites itself), a per-process counter locally.
 * Metric items are updated with `ADD` and list the batches already applied (`applied`, a string
 * set) in the condition, so a redelivered batch is not counted twice.
 */
export const LOGS_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  timeToLiveAttribute: 'expiresAt',
  byEnvIndex: { name: 'byEnv', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  byBlockIndex: { name: 'byBlock', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
} as const;

export const logKeys = {
  request: (envId: string, requestId: string) => `REQ#${envId}#${requestId}`,
  accessSk: () => 'A',
  lineSk: (time: string, seq: string) => `L#${time}#${seq}`,
  linePrefix: () => 'L#',
  envRequests: (envId: string) => `REQS#${envId}`,
  blockRequests: (envId: string, block: string) => `REQS#${envId}#${block}`,
  requestOrder: (time: string, requestId: string) => `${time}#${requestId}`,
  instance: (envId: string, block: string) => `LOG#${envId}#${block}`,
  instanceSk: (time: string, seq: string) => `${time}#${seq}`,
  metrics: (envId: string) => `MET#${envId}`,
  metricSk: (minute: string, block: string) => `${minute}#${block}`,
} as const;
