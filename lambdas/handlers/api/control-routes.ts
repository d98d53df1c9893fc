import { getBlockConfig, putBlockConfig, resetBlockConfig } from '../../core/block-config';
import { createBlock, deleteBlock, getBlock, listBlocks, updateBlock } from '../../core/blocks';
import { getBuild, listBuilds, readBuildLog, requestBuild } from '../../core/builds';
import { createEnvironment, deleteEnvironment, getEnvironment, listEnvironments, shutDownEnvironment } from '../../core/environments';
import { badRequest } from '../../core/errors';
import {
  blockConfigInput,
  createBlockInput,
  createEnvironmentInput,
  createProjectInput,
  deleteEnvironmentInput,
  deleteProjectInput,
  tagReleaseInput,
  updateBlockInput,
  updateProjectInput,
} from '../../core/request-schemas';
import { requireProject } from '../../core/lookups';
import { createProject, deleteProject, listProjects, updateProject } from '../../core/projects';
import { getRelease, listReleases, tagRelease } from '../../core/releases';
import { jsonResponse, noContent } from '../http/response';
import { issuedClientView } from './client-routes';
import { created, ENV, ifMatch, listOptions, ok, P, page, route, type Route } from './routes';
import {
  blockConfigSchema,
  blockSchema,
  buildSchema,
  createdEnvironmentSchema,
  deletionSchema,
  environmentSchema,
  projectSchema,
  releaseSchema,
} from './view-schemas';
import { blockConfigView, blockView, buildView, deletionView, environmentView, projectView, releaseView } from './views';
import { logChunkResponse, logOffset } from './log-chunk';

/** The control API, in the order of the workflow: projects, blocks, builds, environments, config, releases (deployments and jobs: deployment-routes.ts). */
export function controlRoutes(openApi: () => unknown): Route[] {
  return [
    route({
      method: 'GET',
      path: '/v1/openapi.json',
      summary: 'This API, as an OpenAPI 3.1 document',
      tag: 'meta',
      status: 200,
      public: true,
      handle: async () => jsonResponse(200, openApi()),
    }),

    route({
      method: 'POST',
      path: '/v1/projects',
      response: projectSchema,
      summary: 'Create a project',
      tag: 'projects',
      status: 201,
      body: createProjectInput,
      handle: async ({ ctx, body }) => created(projectView(await createProject(ctx, body))),
    }),
    route({
      method: 'GET',
      path: '/v1/projects',
      response: projectSchema,
      list: true,
      summary: 'List projects',
      tag: 'projects',
      status: 200,
      query: ['limit', 'cursor'],
      handle: async ({ ctx, query }) => page(await listProjects(ctx, listOptions(query)), projectView),
    }),
    route({
      method: 'GET',
      path: P,
      response: projectSchema,
      summary: 'Get a project',
      tag: 'projects',
      status: 200,
      handle: async ({ ctx, params }) => ok(projectView(await requireProject(ctx, params.project))),
    }),
    route({
      method: 'PATCH',
      path: P,
      response: projectSchema,
      summary: 'Update a project',
      tag: 'projects',
      status: 200,
      body: updateProjectInput,
      handle: async ({ ctx, params, body }) => ok(projectView(await updateProject(ctx, params.project, body))),
    }),
    route({
      method: 'DELETE',
      path: P,
      response: deletionSchema,
      summary:
        'Delete a project (with environments: body {confirm: "<project>"}; their custom services\' data is kept and named unless {"deleteData": true})',
      tag: 'projects',
      status: 200,
      noContentWhen: "no environment of the project had custom services' data",
      body: deleteProjectInput,
      handle: async ({ ctx, params, body }) => {
        const outcome = await deleteProject(ctx, params.project, body?.confirm, { deleteData: body?.deleteData === true });
        const view = deletionView(outcome, `{"confirm": "${params.project}", "deleteData": true}`);
        return view ? ok(view) : noContent();
      },
    }),

    route({
      method: 'POST',
      path: `${P}/blocks`,
      response: blockSchema,
      summary: 'Add a block',
      tag: 'blocks',
      status: 201,
      body: createBlockInput,
      handle: async ({ ctx, params, body }) => created(blockView(await createBlock(ctx, params.project, body))),
    }),
    route({
      method: 'GET',
      path: `${P}/blocks`,
      response: blockSchema,
      list: true,
      summary: "List a project's blocks",
      tag: 'blocks',
      status: 200,
      query: ['limit', 'cursor'],
      handle: async ({ ctx, params, query }) => page(await listBlocks(ctx, params.project, listOptions(query)), blockView),
    }),
    route({
      method: 'GET',
      path: `${P}/blocks/{block}`,
      response: blockSchema,
      summary: 'Get a block',
      tag: 'blocks',
      status: 200,
      handle: async ({ ctx, params }) => ok(blockView(await getBlock(ctx, params.project, params.block))),
    }),
    route({
      method: 'PATCH',
      path: `${P}/blocks/{block}`,
      response: blockSchema,
      summary: 'Change a block',
      tag: 'blocks',
      status: 200,
      body: updateBlockInput,
      handle: async ({ ctx, params, body }) => ok(blockView(await updateBlock(ctx, params.project, params.block, body))),
    }),
    route({
      method: 'DELETE',
      path: `${P}/blocks/{block}`,
      summary: 'Delete a block',
      tag: 'blocks',
      status: 204,
      handle: async ({ ctx, params }) => {
        await deleteBlock(ctx, params.project, params.block);
        return noContent();
      },
    }),

    route({
      method: 'POST',
      path: `${P}/blocks/{block}/builds`,
      response: buildSchema,
      summary: 'Build the latest commit of the block (also: retry)',
      tag: 'builds',
      status: 202,
      handle: async ({ ctx, params }) => jsonResponse(202, { data: buildView(await requestBuild(ctx, params.project, params.block)) }),
    }),
    route({
      method: 'GET',
      path: `${P}/blocks/{block}/builds`,
      response: buildSchema,
      list: true,
      summary: "List a block's builds, newest first",
      tag: 'builds',
      status: 200,
      query: ['limit', 'cursor'],
      handle: async ({ ctx, params, query }) => page(await listBuilds(ctx, params.project, params.block, listOptions(query)), buildView),
    }),
    route({
      method: 'GET',
      path: `${P}/blocks/{block}/builds/{build}`,
      response: buildSchema,
      summary: 'Get a build',
      tag: 'builds',
      status: 200,
      handle: async ({ ctx, params }) => ok(buildView(await getBuild(ctx, params.project, params.block, params.build))),
    }),
    route({
      method: 'GET',
      path: `${P}/blocks/{block}/builds/{build}/log`,
      summary: 'Read a build log (text; ?offset= to follow while it runs)',
      tag: 'builds',
      status: 200,
      query: ['offset'],
      handle: async ({ ctx, params, query }) => {
        const { build, log } = await readBuildLog(ctx, params.project, params.block, params.build, logOffset(query));
        return logChunkResponse(log.text, log.nextOffset, { 'kinto-build-status': build.status });
      },
    }),

    route({
      method: 'POST',
      path: `${P}/environments`,
      response: createdEnvironmentSchema,
      summary: 'Create an environment (cloneFrom copies per-block config); the answer holds its first client and secret',
      tag: 'environments',
      status: 201,
      body: createEnvironmentInput,
      handle: async ({ ctx, params, body }) => {
        const env = await createEnvironment(ctx, params.project, body);
        // The first client's secret is shown here once, never again (rotate it to get a new one).
        return created({ ...environmentView(env, ctx.runtime), ...(env.firstClient ? { client: issuedClientView(env.firstClient) } : {}) });
      },
    }),
    route({
      method: 'GET',
      path: `${P}/environments`,
      response: environmentSchema,
      list: true,
      summary: "List a project's environments",
      tag: 'environments',
      status: 200,
      query: ['limit', 'cursor'],
      handle: async ({ ctx, params, query }) =>
        page(await listEnvironments(ctx, params.project, listOptions(query)), (e) => environmentView(e, ctx.runtime)),
    }),
    route({
      method: 'GET',
      path: ENV,
      response: environmentSchema,
      summary: 'Get an environment (with its gateway URL)',
      tag: 'environments',
      status: 200,
      handle: async ({ ctx, params }) => ok(environmentView(await getEnvironment(ctx, params.project, params.env), ctx.runtime)),
    }),
    route({
      method: 'DELETE',
      path: ENV,
      response: deletionSchema,
      summary: 'Delete an environment (body {confirm: "<env>"}; its custom services\' data is kept and named unless {"deleteData": true})',
      tag: 'environments',
      status: 200,
      noContentWhen: "the environment had no custom services' data",
      body: deleteEnvironmentInput,
      handle: async ({ ctx, params, body }) => {
        if (!body) throw badRequest('CONFIRMATION_REQUIRED', `To delete environment "${params.env}", send {"confirm": "${params.env}"}.`);
        const outcome = await deleteEnvironment(ctx, params.project, params.env, body.confirm, { deleteData: body.deleteData === true });
        const view = deletionView(outcome, `{"confirm": "${params.env}", "deleteData": true}`);
        return view ? ok(view) : noContent();
      },
    }),
    route({
      method: 'POST',
      path: `${ENV}/shutdown`,
      response: environmentSchema,
      summary: 'Shut an environment down (503 until the next deploy)',
      tag: 'environments',
      status: 200,
      handle: async ({ ctx, params }) => ok(environmentView(await shutDownEnvironment(ctx, params.project, params.env), ctx.runtime)),
    }),

    route({
      method: 'GET',
      path: `${ENV}/blocks/{block}/config`,
      response: blockConfigSchema,
      summary: "A block's configuration in an environment",
      tag: 'config',
      status: 200,
      handle: async ({ ctx, params }) => {
        const view = await getBlockConfig(ctx, params.project, params.env, params.block);
        return ok(blockConfigView(view, params.env), { etag: `"${view.config?.rev ?? 0}"` });
      },
    }),
    route({
      method: 'PUT',
      path: `${ENV}/blocks/{block}/config`,
      response: blockConfigSchema,
      summary: "Replace a block's configuration in an environment (If-Match: revision)",
      tag: 'config',
      status: 200,
      body: blockConfigInput,
      handle: async ({ ctx, params, body, headers }) => {
        const view = await putBlockConfig(ctx, params.project, params.env, params.block, body ?? {}, ifMatch(headers));
        return ok(blockConfigView(view, params.env), { etag: `"${view.config?.rev ?? 0}"` });
      },
    }),
    route({
      method: 'DELETE',
      path: `${ENV}/blocks/{block}/config`,
      response: blockConfigSchema,
      summary: "Reset a block's configuration in an environment to its defaults",
      tag: 'config',
      status: 200,
      handle: async ({ ctx, params }) => {
        const view = await resetBlockConfig(ctx, params.project, params.env, params.block);
        return ok(blockConfigView(view, params.env), { etag: `"${view.config?.rev ?? 0}"` });
      },
    }),
    route({
      method: 'DELETE',
      path: `${ENV}/blocks/{block}/config/variables/{variable}`,
      response: blockConfigSchema,
      summary: 'Reset one variable (plain or secret) of a block in an environment to its default',
      tag: 'config',
      status: 200,
      handle: async ({ ctx, params }) => {
        const view = await resetBlockConfig(ctx, params.project, params.env, params.block, params.variable);
        return ok(blockConfigView(view, params.env), { etag: `"${view.config?.rev ?? 0}"` });
      },
    }),

    route({
      method: 'POST',
      path: `${P}/releases`,
      response: releaseSchema,
      summary: 'Tag a release (freezes every block and its build)',
      tag: 'releases',
      status: 201,
      body: tagReleaseInput,
      handle: async ({ ctx, params, body }) => created(releaseView(await tagRelease(ctx, params.project, body))),
    }),
    route({
      method: 'GET',
      path: `${P}/releases`,
      response: releaseSchema,
      list: true,
      summary: 'List releases, newest version first',
      tag: 'releases',
      status: 200,
      query: ['limit', 'cursor'],
      handle: async ({ ctx, params, query }) => page(await listReleases(ctx, params.project, listOptions(query)), releaseView),
    }),
    route({
      method: 'GET',
      path: `${P}/releases/{version}`,
      response: releaseSchema,
      summary: 'Get a release',
      tag: 'releases',
      status: 200,
      handle: async ({ ctx, params }) => ok(releaseView(await getRelease(ctx, params.project, params.version))),
    }),
  ];
}
