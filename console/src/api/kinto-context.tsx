import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { createKintoClient, type KintoClient } from '../../../client/kinto-client';
import type { ConsoleConfig } from './console-config';

export interface Kinto {
  readonly api: KintoClient;
  readonly config: ConsoleConfig;
  readonly token: string;
  readonly signOut: (reason?: string) => void;
}

export const KintoContext = createContext<Kinto | null>(null);

/** The signed-in control API client; pages render only inside a signed-in session. */
export function useKinto(): Kinto {
  const kinto = useContext(KintoContext);
  if (!kinto) throw new Error('useKinto() outside a signed-in session');
  return kinto;
}

/** A client that signs out when the API stops accepting the token (rotated, or a new platform). */
export function connect(config: ConsoleConfig, token: string, onRefused: () => void): KintoClient {
  const api = createKintoClient({ baseUrl: config.apiUrl, token });
  api.use({
    onResponse: ({ response }) => {
      if (response.status === 401) onRefused();
      return undefined;
    },
  });
  return api;
}
