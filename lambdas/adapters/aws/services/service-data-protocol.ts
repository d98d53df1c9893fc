import { z } from 'zod';

/**
 * How the control API talks to the platform's service-data function (lib/service-data-function.ts),
 * the one part of the platform that mounts the custom services' file system: it lists or deletes
 * the folders `/kinto/<envId>/<block>` of one environment, and names them as
 * `efs://<file system id>/kinto/<envId>/<block>`.
 */
export const serviceDataRequest = z.union([
  z.object({
    action: z.enum(['list', 'delete']),
    // Environment ids are random hex: nothing that could climb out of /kinto.
    envId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  }),
  // Which environments have data at all (deleted ones' too: GET /v1/kept-data).
  z.object({ action: z.literal('environments') }),
]);
export type ServiceDataRequest = z.infer<typeof serviceDataRequest>;

/** What it answers: each service's data that exists (list) or existed and is gone now (delete). */
export const serviceDataAnswer = z.object({ data: z.array(z.object({ block: z.string(), location: z.string() })) });
export type ServiceDataAnswer = z.infer<typeof serviceDataAnswer>;

/** What it answers to `environments`: their ids. */
export const serviceDataEnvironmentsAnswer = z.object({ environments: z.array(z.string()) });
export type ServiceDataEnvironmentsAnswer = z.infer<typeof serviceDataEnvironmentsAnswer>;

/** Where the function mounts its access point, whose root is the file system's `/kinto`. */
export const SERVICE_DATA_MOUNT = '/mnt/kinto';

/** The function's variables (set by the CDK construct). */
export const SERVICE_DATA_ENV = { fileSystemId: 'FILE_SYSTEM_ID' } as const;

/** Where a service's data is, as the API names it: on AWS a folder of the platform's EFS file system. */
export const efsLocationOf = (fileSystemId: string, envId: string, block: string): string =>
  `efs://${fileSystemId}/kinto/${envId}/${block}`;
