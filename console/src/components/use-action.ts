import { useState } from 'preact/hooks';

export interface Action {
  /** Runs `work`; while it runs `busy` is true; what it throws becomes `error`. */
  readonly run: (work: () => Promise<unknown>) => Promise<boolean>;
  readonly busy: boolean;
  readonly error: unknown;
  readonly clear: () => void;
}

/** The state of one button's action: busy while it runs, its error (in the API's words) after. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  return {
    busy,
    error,
    clear: () => setError(undefined),
    run: async (work) => {
      setBusy(true);
      setError(undefined);
      try {
        await work();
        return true;
      } catch (e) {
        setError(e);
        return false;
      } finally {
        setBusy(false);
      }
    },
  };
}
