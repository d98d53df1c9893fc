import type { paths } from '../../../client/schema';

// Views of the control API, named after what they are; all derived from the generated schema.
type Data<Op, Status extends number = 200> = Op extends {
  responses: { [S in Status]: { content: { 'application/json': { data: infer D } } } };
}
  ? D
  : never;
type Item<T> = T extends readonly (infer I)[] ? I : never;

export type Project = Data<paths['/v1/projects/{project}']['get']>;
export type Block = Data<paths['/v1/projects/{project}/blocks/{block}']['get']>;
export type BlockInput = paths['/v1/projects/{project}/blocks']['post']['requestBody']['content']['application/json'];
export type BlockType = Block['type'];
export type BlockKind = NonNullable<Block['kind']>;
export type Build = Data<paths['/v1/projects/{project}/blocks/{block}/builds/{build}']['get']>;
export type Environment = Data<paths['/v1/projects/{project}/environments/{env}']['get']>;
export type CreatedEnvironment = Data<paths['/v1/projects/{project}/environments']['post'], 201>;
export type BlockConfig = Data<paths['/v1/projects/{project}/environments/{env}/blocks/{block}/config']['get']>;
export type BlockConfigInput =
  paths['/v1/projects/{project}/environments/{env}/blocks/{block}/config']['put']['requestBody']['content']['application/json'];
export type Visibility = BlockConfig['visibility'];
export type Release = Data<paths['/v1/projects/{project}/releases/{version}']['get']>;
export type Deployment = Data<paths['/v1/projects/{project}/environments/{env}/deployments/{deployment}']['get']>;
export type DeploymentStep = Item<Deployment['steps']>;
export type Comparison = Data<paths['/v1/projects/{project}/environments/{env}/compare']['get']>;
export type Job = Item<Data<paths['/v1/projects/{project}/environments/{env}/jobs']['get']>>;
export type JobRun = Data<paths['/v1/projects/{project}/environments/{env}/blocks/{block}/runs/{run}']['get']>;
export type Client = Data<paths['/v1/projects/{project}/environments/{env}/clients/{clientId}']['get']>;
export type ClientWithSecret = Data<paths['/v1/projects/{project}/environments/{env}/clients']['post'], 201>;
export type RequestEntry = Item<Data<paths['/v1/projects/{project}/environments/{env}/requests']['get']>>;
export type RequestDetail = Data<paths['/v1/projects/{project}/environments/{env}/requests/{requestId}']['get']>;
export type ConsoleLine = Item<RequestDetail['consoleLines']>;
export type InstanceLine = Item<Data<paths['/v1/projects/{project}/environments/{env}/blocks/{block}/logs']['get']>>;
export type Metrics = Data<paths['/v1/projects/{project}/environments/{env}/metrics']['get']>;
export type BlockMetrics = Item<Metrics['blocks']>;
export type MinuteMetrics = Item<BlockMetrics['minutes']>;
/** What deleting an environment or a project did with custom services' data (answered with 200; 204 when there was none). */
export type Deletion = Data<paths['/v1/projects/{project}/environments/{env}']['delete']>;
export type ServiceDataFolder = Item<Deletion['keptData']>;
/** A custom service's data that a deleted environment left (its deletion kept it); deleted later by environment id. */
export type KeptData = Item<Data<paths['/v1/kept-data']['get']>>;
