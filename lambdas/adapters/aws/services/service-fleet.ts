import {
  DescribeServicesCommand,
  ListServicesCommand,
  TagResourceCommand,
  UpdateServiceCommand,
  type ECSClient,
  type Service,
} from '@aws-sdk/client-ecs';
import { DEFAULT_SERVICE_IDLE_SECONDS, MIN_SERVICE_IDLE_SECONDS_ON_AWS, SERVICE_TAGS, servicePrefixOf } from './service-names';

/** One custom service as the waker and reaper see it (its ECS service and the tags the stack and waker set). */
export interface ServiceState {
  readonly arn: string;
  /** `kinto-<12>-<block>`. */
  readonly name: string;
  /** ECS's status: ACTIVE, DRAINING (being deleted) or INACTIVE (deleted). */
  readonly status: string;
  readonly desiredCount: number;
  readonly runningCount: number;
  readonly pendingCount: number;
  /** Never put to sleep (tag `kinto:always-on`). */
  readonly alwaysOn: boolean;
  /** Seconds without traffic before it sleeps (tag `kinto:idle-seconds`, at least 60). */
  readonly idleSeconds: number;
  /** The newest traffic the waker recorded (tag `kinto:last-traffic`), in epoch milliseconds. */
  readonly lastTrafficMs?: number;
  /** ECS's newest event about the service (why a task does not start, e.g. an image it cannot pull). */
  readonly lastEvent?: string;
}

/** The environment's custom services on ECS: what the waker and reaper read and change. */
export interface ServiceFleet {
  /** ARNs of the environment's services (`kinto-<12 characters of its id>-*`). */
  list(envId: string): Promise<string[]>;
  /** Their states; a service ECS does not know is left out. */
  describe(arns: readonly string[]): Promise<ServiceState[]>;
  setDesiredCount(arn: string, count: 0 | 1): Promise<void>;
  /** Records traffic at `atMs` on the service (its `kinto:last-traffic` tag). */
  recordTraffic(arn: string, atMs: number): Promise<void>;
}

/** `ServiceFleet` on ECS: one cluster, services found by name, state kept in their tags. */
export class EcsServiceFleet implements ServiceFleet {
  constructor(
    private readonly ecs: ECSClient,
    private readonly clusterArn: string,
  ) {}

  async list(envId: string): Promise<string[]> {
    const prefix = servicePrefixOf(envId);
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.ecs.send(new ListServicesCommand({ cluster: this.clusterArn, maxResults: 100, nextToken }));
      for (const arn of page.serviceArns ?? []) if (serviceNameOfArn(arn).startsWith(prefix)) arns.push(arn);
      nextToken = page.nextToken;
    } while (nextToken);
    return arns;
  }

  async describe(arns: readonly string[]): Promise<ServiceState[]> {
    const states: ServiceState[] = [];
    // DescribeServices takes at most 10 services per call.
    for (let i = 0; i < arns.length; i += 10) {
      const out = await this.ecs.send(
        new DescribeServicesCommand({ cluster: this.clusterArn, services: arns.slice(i, i + 10), include: ['TAGS'] }),
      );
      for (const s of out.services ?? []) states.push(stateOf(s));
    }
    return states;
  }

  async setDesiredCount(arn: string, count: 0 | 1): Promise<void> {
    await this.ecs.send(new UpdateServiceCommand({ cluster: this.clusterArn, service: arn, desiredCount: count }));
  }

  async recordTraffic(arn: string, atMs: number): Promise<void> {
    await this.ecs.send(
      new TagResourceCommand({ resourceArn: arn, tags: [{ key: SERVICE_TAGS.lastTraffic, value: String(Math.floor(atMs / 1000)) }] }),
    );
  }
}

/** `arn:aws:ecs:<region>:<account>:service/<cluster>/<name>` -> `<name>`. */
export const serviceNameOfArn = (arn: string): string => arn.slice(arn.lastIndexOf('/') + 1);

function stateOf(s: Service): ServiceState {
  const tags = new Map((s.tags ?? []).map((t) => [t.key ?? '', t.value ?? '']));
  const idle = Number(tags.get(SERVICE_TAGS.idleSeconds));
  const last = Number(tags.get(SERVICE_TAGS.lastTraffic));
  return {
    arn: s.serviceArn ?? '',
    name: s.serviceName ?? serviceNameOfArn(s.serviceArn ?? ''),
    status: s.status ?? 'UNKNOWN',
    desiredCount: s.desiredCount ?? 0,
    runningCount: s.runningCount ?? 0,
    pendingCount: s.pendingCount ?? 0,
    alwaysOn: tags.get(SERVICE_TAGS.alwaysOn) === 'true',
    idleSeconds: Number.isFinite(idle) && idle > 0 ? Math.max(MIN_SERVICE_IDLE_SECONDS_ON_AWS, idle) : DEFAULT_SERVICE_IDLE_SECONDS,
    ...(tags.has(SERVICE_TAGS.lastTraffic) && Number.isFinite(last) && last > 0 ? { lastTrafficMs: last * 1000 } : {}),
    // DescribeServices answers the newest events first.
    ...(s.events?.[0]?.message ? { lastEvent: s.events[0].message } : {}),
  };
}
