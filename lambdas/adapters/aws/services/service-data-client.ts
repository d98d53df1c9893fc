import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { KintoError } from '../../../core/errors';
import type { ServiceData } from '../../../ports/runtime';
import { serviceDataAnswer, type ServiceDataRequest } from './service-data-protocol';

/**
 * The control API's side of the service-data function: names (`list`) or deletes an
 * environment's custom services' data on EFS, waiting for the answer. A failure is an error the
 * caller sees, never an empty answer: data is never reported gone when it is not.
 */
export class ServiceDataClient {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly functionName: string,
  ) {}

  list(envId: string): Promise<readonly ServiceData[]> {
    return this.ask({ action: 'list', envId });
  }

  remove(envId: string): Promise<readonly ServiceData[]> {
    return this.ask({ action: 'delete', envId });
  }

  private async ask(request: ServiceDataRequest): Promise<readonly ServiceData[]> {
    const out = await this.lambda.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'RequestResponse',
        Payload: Buffer.from(JSON.stringify(request)),
      }),
    );
    const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
    let payload: unknown;
    try {
      payload = JSON.parse(text || '{}');
    } catch {
      /* not JSON: reported below */
    }
    const answer = serviceDataAnswer.safeParse(payload);
    if (out.FunctionError || !answer.success) {
      const message = (payload as { errorMessage?: unknown } | undefined)?.errorMessage;
      const why = typeof message === 'string' ? message : (out.FunctionError ?? 'no answer');
      const what =
        request.action === 'delete'
          ? `deleting the custom services' data of environment ${request.envId} on EFS failed (${why}); some of it may be left in /kinto/${request.envId}/ of the platform's file system: delete it by hand from a machine that mounts it (README: Custom services on AWS)`
          : `the custom services' data of environment ${request.envId} could not be listed (${why}); it is kept in /kinto/${request.envId}/ of the platform's file system`;
      throw new KintoError(502, 'SERVICE_DATA_FAILED', what);
    }
    return answer.data.data;
  }
}
