import { internalEntryKeyOf } from '../../core/auth/internal-entry';
import { derivedKeys } from '../../core/auth/platform-keys';
import type { PlatformKeys } from '../../ports/keys';

/** Each environment's internal entry key, derived from the platform key (the same as locally). */
export const internalKeys =
  (keys: PlatformKeys) =>
  async (envId: string): Promise<string> =>
    internalEntryKeyOf((await derivedKeys(keys)).internalEntryKey, envId);
