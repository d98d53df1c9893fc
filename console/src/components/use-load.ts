import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { isAbort } from '../api/api-errors';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  /** Loads again (after an action changed what was shown). */
  readonly reload: () => Promise<void>;
  /** Replaces what is shown with an answer already at hand (e.g. a PUT's). */
  readonly set: (data: T) => void;
}

/**
 * Loads what a page shows, again whenever `deps` change; an answer that arrives after the page
 * moved on is dropped.
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const current = useRef<AbortController | null>(null);
  const run = useCallback(async () => {
    current.current?.abort();
    const controller = new AbortController();
    current.current = controller;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await load(controller.signal);
      if (!controller.signal.aborted) setState({ data, loading: false });
    } catch (error) {
      if (!controller.signal.aborted && !isAbort(error)) setState((s) => ({ ...s, error, loading: false }));
    }
    // `deps` say when to load again, as for useEffect.
  }, deps);
  useEffect(() => {
    void run();
    return () => current.current?.abort();
  }, [run]);
  return { ...state, error: state.error, data: state.data, reload: run, set: (data: T) => setState({ data, loading: false }) };
}
