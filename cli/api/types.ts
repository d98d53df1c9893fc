import type { paths } from '../../client/schema';

/** The `data` of a GET answer of the control API, as the generated schema types it. */
type Data<P extends keyof paths> = paths[P] extends { get: { responses: { 200: { content: { 'application/json': { data: infer D } } } } } }
  ? D
  : never;
type Item<P extends keyof paths> = Data<P> extends (infer I)[] ? I : never;
/** The `data` of a DELETE answer that has one (200). */
type Deleted<P extends keyof paths> = paths[P] extends {
  delete: { responses: { 200: { content: { 'application/json': { data: infer D } } } } };
}
  ? D
  : never;

type ENV = '/v1/projects/{project}/environments/{env}';

export type Project = Data<'/v1/projects/{project}'>;
export type Block = Data<'/v1/projects/{project}/blocks/{block}'>;
export type Build = Data<'/v1/projects/{project}/blocks/{block}/builds/{build}'>;
export type Environment = Data<'/v1/projects/{project}/environments/{env}'>;
export type BlockConfig = Data<`${ENV}/blocks/{block}/config`>;
export type Release = Data<'/v1/projects/{project}/releases/{version}'>;
export type Deployment = Data<`${ENV}/deployments/{deployment}`>;
export type DeploymentStep = Deployment['steps'][number];
export type Comparison = Data<`${ENV}/compare`>;
export type Job = Item<`${ENV}/jobs`>;
export type JobRun = Data<`${ENV}/blocks/{block}/runs/{run}`>;
export type Client = Data<`${ENV}/clients/{clientId}`>;
export type RequestEntry = Item<`${ENV}/requests`>;
export type RequestDetail = Data<`${ENV}/requests/{requestId}`>;
export type ConsoleLine = RequestDetail['consoleLines'][number];
export type InstanceLine = Item<`${ENV}/blocks/{block}/logs`>;
export type Metrics = Data<`${ENV}/metrics`>;
export type KeptData = Item<'/v1/kept-data'>;
/** What deleting an environment (or a project) did with its custom services' data. */
export type Deletion = Deleted<ENV>;
