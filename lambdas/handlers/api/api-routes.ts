import { clientRoutes } from './client-routes';
import { controlRoutes } from './control-routes';
import { deploymentRoutes } from './deployment-routes';
import { keptDataRoutes } from './kept-data-routes';
import { logRoutes, type LogStoreSource } from './log-routes';
import { buildOpenApi } from './openapi';
import { isPublicRoute } from './public-routes';
import type { Route } from './routes';

export const API_VERSION = '0.1.0';

/** Every route of the control API: each feature contributes its own. */
export function apiRoutes(logs: LogStoreSource, openApi: () => unknown): Route[] {
  const routes: Route[] = [...controlRoutes(openApi), ...deploymentRoutes(), ...clientRoutes(), ...logRoutes(logs), ...keptDataRoutes()];
  for (const r of routes) {
    if (Boolean(r.public) !== isPublicRoute(r.method, r.path))
      throw new Error(`${r.method} ${r.path}: list it in PUBLIC_ROUTES (public-routes.ts) exactly when it is public`);
  }
  return routes;
}

/** The control API's OpenAPI document, as `GET /v1/openapi.json` serves it (for generating typed clients). */
export function openApiDocument(): Record<string, unknown> {
  const doc: Record<string, unknown> = buildOpenApi(
    apiRoutes(
      () => undefined,
      () => doc,
    ),
    API_VERSION,
  );
  return doc;
}
