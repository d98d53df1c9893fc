import { useId, useState } from 'preact/hooks';
import { createKintoClient, unwrap } from '../../../client/kinto-client';
import type { ConsoleConfig } from '../api/console-config';
import { ErrorNote } from '../components/error-note';
import { usePageTitle } from '../components/page-title';
import { useAction } from '../components/use-action';

export interface SignInProps {
  readonly config: ConsoleConfig;
  /** Why the user is here again (e.g. the platform refused the token). */
  readonly reason?: string;
  readonly onSignedIn: (token: string) => void;
}

/** Sign in with the admin token: checked against the API before it is kept for this tab. */
export function SignInPage({ config, reason, onSignedIn }: SignInProps) {
  usePageTitle('Sign in');
  const [token, setToken] = useState('');
  const action = useAction();
  const id = useId();
  const submit = (e: Event) => {
    e.preventDefault();
    const t = token.trim();
    void action.run(async () => {
      unwrap(await createKintoClient({ baseUrl: config.apiUrl, token: t }).GET('/v1/projects', { params: { query: { limit: '1' } } }));
      onSignedIn(t);
    });
  };
  return (
    <main class="sign-in">
      <h1>Kinto console</h1>
      <p class="muted">Projects, builds, deployments, logs and metrics of the Kinto platform at {config.apiUrl}.</p>
      {reason ? (
        <p class="notice" role="status">
          {reason}
        </p>
      ) : null}
      <form onSubmit={submit}>
        <label for={id}>
          Admin token
          <span class="hint">
            {' '}
            — printed by <code>npm start</code> and kept in <code>.kinto/admin-token</code>; on AWS, run the stack's{' '}
            <code>AdminTokenCommand</code> output
          </span>
        </label>
        <input
          id={id}
          type="password"
          autoComplete="current-password"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          required
          autoFocus
        />
        <ErrorNote error={action.error} />
        <div class="form-actions">
          <button type="submit" disabled={action.busy || !token.trim()}>
            {action.busy ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
      </form>
      <p class="hint">The token is kept in this tab's session storage until you sign out or close the tab.</p>
    </main>
  );
}
