/**
 * Routes the control API answers without the admin token. Kept apart from the route table so
 * that the platform's port (the local data plane) can check the token before it reads a body,
 * without loading the API; `createApiHandler` refuses a table that disagrees with this list.
 */
export const PUBLIC_ROUTES: readonly { readonly method: string; readonly path: string }[] = [{ method: 'GET', path: '/v1/openapi.json' }];

/** Is `method path` (query and one trailing slash ignored) a route answered without the token? */
export function isPublicRoute(method: string | undefined, url: string): boolean {
  const query = url.indexOf('?');
  let path = query < 0 ? url : url.slice(0, query);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return PUBLIC_ROUTES.some((r) => r.method === method && r.path === path);
}
