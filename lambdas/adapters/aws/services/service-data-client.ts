import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { z } from 'zod';
import { KintoError } from '../../../core/errors';
import type { ServiceData } from '../../../ports/runtime';
import { serviceDataAnswer, serviceDataEnvironmentsAnswer, type ServiceDataRequest } from './service-data-protocol';

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
    return this.ask(
      { action: 'list', envId },
      serviceDataAnswer,
      (why) =>
        `the custom services' data of environment ${envId} could not be listed (${why}); it is kept in /kinto/${envId}/ of the platform's file system`,
    ).then((a) => a.data);
  }

  remove(envId: string): Promise<readonly ServiceData[]> {
    return this.ask(
      { action: 'delete', envId },
      serviceDataAnswer,
      (why) =>
        `deleting the custom services' data of environment ${envId} on EFS failed (${why}); some of it may be left in /kinto/${envId}/ of the platform's file system: delete it later with DELETE /v1/kept-data/${envId}`,
    ).then((a) => a.data);
  }

  /** The environments (ids) with a folder on the file system, deleted ones' included. */
  environments(): Promise<readonly string[]> {
    return this.ask(
      { action: 'environments' },
      serviceDataEnvironmentsAnswer,
      (why) =>
        `the environments with custom services' data could not be listed (${why}); it is all kept in /kinto/ of the platform's file system`,
    ).then((a) => a.environments);
  }

  /** The function's answer as `schema` reads it; its failure, or an answer it does not read, is a 502 saying `failed`. */
  private async ask<T>(request: ServiceDataRequest, schema: z.ZodType<T>, failed: (why: string) => string): Promise<T> {
    const { value, failure } = await this.invoke(request);
    const answer = schema.safeParse(value);
    if (failure || !answer.success) throw new KintoError(502, 'SERVICE_DATA_FAILED', failed(failure ?? 'no answer'));
    return answer.data;
  }

  /** Invokes the function; `failure` says why when it failed (its own error message, or Lambda's). */
  private async invoke(request: ServiceDataRequest): Promise<{ value: unknown; failure?: string }> {
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
      /* not JSON: the caller finds no answer in it */
    }
    if (!out.FunctionError) return { value: payload };
    const message = (payload as { errorMessage?: unknown } | undefined)?.errorMessage;
    return { value: payload, failure: typeof message === 'string' ? message : out.FunctionError };
  }
}
