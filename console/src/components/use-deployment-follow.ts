import { useEffect, useRef, useState } from 'preact/hooks';
import { isAbort } from '../api/api-errors';
import { followDeployment } from '../api/follow';
import { useKinto } from '../api/kinto-context';
import type { Deployment } from '../api/types';

/** A deployment followed live from the moment it was started (or found in progress) until it ends. */
export function useDeploymentFollow(onEnd?: (d: Deployment) => void) {
  const kinto = useKinto();
  const [deployment, setDeployment] = useState<Deployment>();
  const [error, setError] = useState<unknown>();
  const controller = useRef<AbortController | null>(null);
  useEffect(() => () => controller.current?.abort(), []);
  const follow = (project: string, env: string, started: Deployment) => {
    controller.current?.abort();
    const c = new AbortController();
    controller.current = c;
    setDeployment(started);
    setError(undefined);
    followDeployment(kinto, { project, env, deployment: started.id }, setDeployment, c.signal).then(
      (d) => onEnd?.(d),
      (e) => isAbort(e) || setError(e),
    );
  };
  return { deployment, error, follow, stop: () => controller.current?.abort() };
}
