import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { Block, BlockConfig, Build, Client, Deployment, Environment, JobLock, JobRun, Project, Release } from '../../core/model';
import { parseReleaseVersion, releaseSortKey } from '../../core/release-version';
import { InvalidCursorError, WriteConflictError, type Collection, type ListOptions, type Page, type Store } from '../../ports/store';
import { keys, STATE_TABLE } from './state-table';

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
const KEY_ATTRIBUTES = [STATE_TABLE.partitionKey, STATE_TABLE.sortKey, STATE_TABLE.byIdIndex.partitionKey];

/** How one kind of item maps to the table's keys (see state-table.ts). */
interface KeyDesign<T, K, P> {
  pk(key: K): string;
  sk(key: K): string;
  parentPk(parent: P): string;
  /** Sort-key prefix shared by the kind's items under one parent. */
  readonly prefix: string | ((parent: P) => string);
  /** Value of the `byId` index key, for kinds found by id. */
  byId?(item: T): string;
}

export interface DynamoDbStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/**
 * The Store port on DynamoDB (dynalite locally). Reads are strongly consistent except by-id
 * lookups, which go through a global secondary index.
 */
export class DynamoDbStore implements Store {
  public readonly projects: Store['projects'];
  public readonly blocks: Store['blocks'];
  public readonly environments: Store['environments'];
  public readonly blockConfigs: Store['blockConfigs'];
  public readonly releases: Store['releases'];
  public readonly deployments: Store['deployments'];
  public readonly builds: Store['builds'];
  public readonly clients: Store['clients'];
  public readonly jobRuns: Store['jobRuns'];
  public readonly jobLocks: Store['jobLocks'];

  private readonly doc: DynamoDBDocumentClient;

  constructor(private readonly options: DynamoDbStoreOptions) {
    this.doc = DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
    const projects = this.collection<Project, { name: string }, object>({
      pk: () => keys.projects(),
      sk: (k) => keys.project(k.name),
      parentPk: () => keys.projects(),
      prefix: keys.project(''),
      byId: (p) => keys.projectId(p.id),
    });
    this.projects = Object.assign(projects, { getById: (id: string) => this.getById<Project>(keys.projectId(id)) });
    this.blocks = this.collection<Block, { projectId: string; name: string }, { projectId: string }>({
      pk: (k) => keys.projectId(k.projectId),
      sk: (k) => keys.block(k.name),
      parentPk: (p) => keys.projectId(p.projectId),
      prefix: keys.block(''),
    });
    const environments = this.collection<Environment, { projectId: string; name: string }, { projectId: string }>({
      pk: (k) => keys.projectId(k.projectId),
      sk: (k) => keys.env(k.name),
      parentPk: (p) => keys.projectId(p.projectId),
      prefix: keys.env(''),
      byId: (e) => keys.envId(e.id),
    });
    this.environments = Object.assign(environments, { getById: (id: string) => this.getById<Environment>(keys.envId(id)) });
    this.blockConfigs = this.collection<BlockConfig, { envId: string; blockId: string }, { envId: string }>({
      pk: (k) => keys.envId(k.envId),
      sk: (k) => keys.config(k.blockId),
      parentPk: (p) => keys.envId(p.envId),
      prefix: keys.config(''),
    });
    this.releases = this.collection<Release, { projectId: string; version: string }, { projectId: string }>({
      pk: (k) => keys.projectId(k.projectId),
      sk: (k) => keys.release(releaseSortKey(parseReleaseVersion(k.version))),
      parentPk: (p) => keys.projectId(p.projectId),
      prefix: keys.release(''),
    });
    this.deployments = this.collection<Deployment, { envId: string; id: string }, { envId: string }>({
      pk: (k) => keys.envId(k.envId),
      sk: (k) => keys.deployment(k.id),
      parentPk: (p) => keys.envId(p.envId),
      prefix: keys.deployment(''),
    });
    this.builds = this.collection<Build, { blockId: string; id: string }, { blockId: string }>({
      pk: (k) => keys.blockId(k.blockId),
      sk: (k) => keys.build(k.id),
      parentPk: (p) => keys.blockId(p.blockId),
      prefix: keys.build(''),
    });
    this.clients = this.collection<Client, { envId: string; clientId: string }, { envId: string }>({
      pk: (k) => keys.envId(k.envId),
      sk: (k) => keys.client(k.clientId),
      parentPk: (p) => keys.envId(p.envId),
      prefix: keys.client(''),
    });
    this.jobRuns = this.collection<JobRun, { envId: string; job: string; id: string }, { envId: string; job?: string }>({
      pk: (k) => keys.envId(k.envId),
      sk: (k) => `${keys.jobRuns(k.job)}${k.id}`,
      parentPk: (p) => keys.envId(p.envId),
      prefix: (p) => keys.jobRuns(p.job),
    });
    this.jobLocks = this.collection<JobLock, { envId: string; job: string }, { envId: string }>({
      pk: (k) => keys.envId(k.envId),
      sk: (k) => keys.jobLock(k.job),
      parentPk: (p) => keys.envId(p.envId),
      prefix: keys.jobLock(''),
    });
  }

  private get table(): string {
    return this.options.tableName;
  }

  private collection<T extends K & { rev: number }, K extends object, P extends object>(design: KeyDesign<T, K, P>): Collection<T, K, P> {
    const prefixOf = (parent: P): string => (typeof design.prefix === 'string' ? design.prefix : design.prefix(parent));
    const toItem = (item: T) => ({
      ...item,
      pk: design.pk(item),
      sk: design.sk(item),
      ...(design.byId ? { [STATE_TABLE.byIdIndex.partitionKey]: design.byId(item) } : {}),
    });
    return {
      get: async (key) => {
        const out = await this.doc.send(
          new GetCommand({ TableName: this.table, Key: { pk: design.pk(key), sk: design.sk(key) }, ConsistentRead: true }),
        );
        return out.Item ? fromItem<T>(out.Item) : undefined;
      },
      list: (parent, options) => this.query<T>(design.parentPk(parent), prefixOf(parent), options),
      create: async (item) => {
        await this.conditionalPut(toItem(item), 'attribute_not_exists(pk)');
        return item;
      },
      update: async (item) => {
        const next = { ...item, rev: item.rev + 1 };
        await this.conditionalPut(toItem(next), '#rev = :rev', { '#rev': 'rev' }, { ':rev': item.rev });
        return next;
      },
      remove: async (key) => {
        await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { pk: design.pk(key), sk: design.sk(key) } }));
      },
      removeAll: (parent) => this.removePrefix(design.parentPk(parent), prefixOf(parent)),
    };
  }

  private async conditionalPut(
    item: Record<string, unknown>,
    condition: string,
    names?: Record<string, string>,
    values?: Record<string, unknown>,
  ): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException || (e as Error).name === 'ConditionalCheckFailedException') {
        throw new WriteConflictError(`conditional write failed for ${String(item.pk)} / ${String(item.sk)}`);
      }
      throw e;
    }
  }

  private async getById<T>(id: string): Promise<T | undefined> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: STATE_TABLE.byIdIndex.name,
        KeyConditionExpression: '#id = :id',
        ExpressionAttributeNames: { '#id': STATE_TABLE.byIdIndex.partitionKey },
        ExpressionAttributeValues: { ':id': id },
        Limit: 1,
      }),
    );
    const item = out.Items?.[0];
    return item ? fromItem<T>(item) : undefined;
  }

  private async query<T>(pk: string, prefix: string, options: ListOptions = {}): Promise<Page<T>> {
    const limit = Math.min(Math.max(1, options.limit ?? DEFAULT_PAGE), MAX_PAGE);
    const input: QueryCommandInput = {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
      ScanIndexForward: !options.descending,
      ConsistentRead: true,
      Limit: limit,
      ExclusiveStartKey: options.cursor ? decodeCursor(options.cursor, pk, prefix) : undefined,
    };
    const out = await this.doc.send(new QueryCommand(input));
    return {
      items: (out.Items ?? []).map((i) => fromItem<T>(i)),
      ...(out.LastEvaluatedKey ? { cursor: encodeCursor(out.LastEvaluatedKey) } : {}),
    };
  }

  private async removePrefix(pk: string, prefix: string): Promise<void> {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
          ProjectionExpression: 'pk, sk',
          ExclusiveStartKey: start,
        }),
      );
      const keysToDelete = out.Items ?? [];
      for (let i = 0; i < keysToDelete.length; i += 25) {
        await this.batchDelete(keysToDelete.slice(i, i + 25));
      }
      start = out.LastEvaluatedKey;
    } while (start);
  }

  private async batchDelete(batch: Record<string, unknown>[]): Promise<void> {
    let requests = batch.map((k) => ({ DeleteRequest: { Key: { pk: k.pk, sk: k.sk } } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
      if (attempt > 8) throw new Error(`could not delete ${requests.length} items after ${attempt} attempts`);
      const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
      requests = (out.UnprocessedItems?.[this.table] ?? []) as typeof requests;
    }
  }
}

function fromItem<T>(item: Record<string, unknown>): T {
  const copy = { ...item };
  for (const k of KEY_ATTRIBUTES) delete copy[k];
  return copy as T;
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** Cursors come back from callers: accept only a key of the same listing. */
function decodeCursor(cursor: string, pk: string, prefix: string): Record<string, unknown> {
  let key: unknown;
  try {
    key = cursor.length <= 2048 ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
  } catch {
    key = undefined;
  }
  const k = key as Record<string, unknown> | undefined;
  const allowed = new Set<string>(KEY_ATTRIBUTES);
  if (
    !k ||
    typeof k !== 'object' ||
    k.pk !== pk ||
    typeof k.sk !== 'string' ||
    !k.sk.startsWith(prefix) ||
    Object.keys(k).some((name) => !allowed.has(name))
  ) {
    throw new InvalidCursorError('The cursor is not one this listing returned; start again without it.');
  }
  return k;
}
