import {
  efsLocationOf,
  SERVICE_DATA_ENV,
  SERVICE_DATA_MOUNT,
  serviceDataRequest,
  type ServiceDataAnswer,
  type ServiceDataEnvironmentsAnswer,
} from '../adapters/aws/services/service-data-protocol';
import { deleteServiceFolders, listEnvironmentFolders, listServiceFolders } from '../adapters/aws/services/service-data-folders';
import { requiredEnv } from './required-env';

/**
 * The service-data function: invoked by the control API (RequestResponse) when an environment is
 * deleted, to name its custom services' data or, when the deletion asks, delete it; and to find
 * what deleted environments left (`environments`). It mounts the
 * file system's `/kinto` and calls no AWS API. Input that is not a request is refused (thrown).
 */
export function createServiceDataHandler(
  options: { readonly root: string; readonly fileSystemId: string },
  write: (line: string) => void = (l) => void process.stdout.write(`${l}\n`),
) {
  return async (event: unknown): Promise<ServiceDataAnswer | ServiceDataEnvironmentsAnswer> => {
    const request = serviceDataRequest.parse(event);
    if (request.action === 'environments') return { environments: await listEnvironmentFolders(options.root) };
    const { action, envId } = request;
    const blocks = action === 'delete' ? await deleteServiceFolders(options.root, envId) : await listServiceFolders(options.root, envId);
    if (action === 'delete' && blocks.length > 0) {
      write(JSON.stringify({ level: 'info', message: 'service data deleted', envId, blocks }));
    }
    return { data: blocks.map((block) => ({ block, location: efsLocationOf(options.fileSystemId, envId, block) })) };
  };
}

let serviceData: ReturnType<typeof createServiceDataHandler> | undefined;

/** Lambda entry point. */
export const handler = async (event: unknown): Promise<ServiceDataAnswer | ServiceDataEnvironmentsAnswer> => {
  serviceData ??= createServiceDataHandler({ root: SERVICE_DATA_MOUNT, fileSystemId: requiredEnv(SERVICE_DATA_ENV.fileSystemId) });
  return serviceData(event);
};
