import type { TestPlatform } from './platform';

export interface ClientToken {
  readonly clientId: string;
  readonly secret: string;
  readonly token: string;
  readonly gatewayUrl: string;
}

/**
 * A new client of an environment and a token for it, through the normal API: POST
 * .../environments/{env}/clients, then POST <gateway URL>/authorize. Send the token as
 * `Kinto-Authorization` to call protected blocks (microservices are protected by default).
 */
export async function clientToken(kinto: Pick<TestPlatform, 'api' | 'gatewayUrl'>, project: string, env: string): Promise<ClientToken> {
  const created = await kinto.api('POST', `/v1/projects/${project}/environments/${env}/clients`, { name: 'test' });
  if (created.status !== 201) throw new Error(`creating a client failed: ${created.status} ${JSON.stringify(created.body)}`);
  const { clientId, secret } = created.body.data;
  const gatewayUrl = await kinto.gatewayUrl(project, env);
  const res = await fetch(`${gatewayUrl}/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ clientId, secret }),
  });
  const body = (await res.json()) as { data?: { token: string } };
  if (res.status !== 200 || !body.data) throw new Error(`authorize failed: ${res.status} ${JSON.stringify(body)}`);
  return { clientId, secret, token: body.data.token, gatewayUrl };
}
