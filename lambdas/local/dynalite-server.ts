import { mkdirSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

/** Where dynalite listens: a Unix socket (the platform), or a loopback port (tests, benches). */
export type DynaliteAddress = { readonly socketPath: string } | { readonly endpoint: string };

export interface LocalDynamoDb {
  readonly address: DynaliteAddress;
  readonly client: DynamoDBClient;
  close(): Promise<void>;
}

/**
 * Starts dynalite — the DynamoDB API — inside this process. With `path` its data lives in LevelDB
 * files there (kept across restarts); without, in memory (tests). With `socketPath` it listens on
 * a Unix socket (put it in a 0700 folder: no block or other user can reach the state), else on a
 * loopback port.
 */
export async function startDynalite(options: { path?: string; socketPath?: string } = {}): Promise<LocalDynamoDb> {
  if (options.path) mkdirSync(options.path, { recursive: true, mode: 0o700 });
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path ? { path: options.path } : {}) });
  if (options.socketPath) rmSync(options.socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (options.socketPath) server.listen(options.socketPath, () => resolve());
    else server.listen(0, '127.0.0.1', () => resolve());
  });
  const address: DynaliteAddress = options.socketPath
    ? { socketPath: options.socketPath }
    : { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  const client = dynamoDbClient(address);
  return {
    address,
    client,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A DynamoDB client for a local dynalite. */
export function dynamoDbClient(address: DynaliteAddress): DynamoDBClient {
  const common = { region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 3 };
  if ('endpoint' in address) return new DynamoDBClient({ ...common, endpoint: address.endpoint });
  const agent = new Agent({ keepAlive: true });
  // The SDK speaks HTTP to a host; every connection goes to the socket instead.
  agent.createConnection = () => connect(address.socketPath);
  return new DynamoDBClient({ ...common, endpoint: 'http://dynalite.local', requestHandler: { httpAgent: agent } });
}
