import { useId, useState } from 'preact/hooks';
import { unwrap } from '../../../client/kinto-client';
import { expectOk } from '../api/api-errors';
import { useKinto } from '../api/kinto-context';
import type { Client, ClientWithSecret } from '../api/types';
import { ClientSecretDialog } from './client-secret-dialog';
import { ConfirmDialog } from './confirm-dialogs';
import { Dialog } from './dialog';
import { EmptyState, Loading } from './empty-state';
import { ErrorNote } from './error-note';
import { When } from './time';
import { useAction } from './use-action';
import type { Loaded } from './use-load';

type Open =
  { kind: 'create' } | { kind: 'secret'; client: ClientWithSecret; rotated: boolean } | { kind: 'rotate' | 'revoke'; client: Client };

/** An environment's clients: create one (its secret shown once), rotate its secret, revoke it. */
export function ClientsPanel({
  project,
  env,
  clients,
}: {
  readonly project: string;
  readonly env: string;
  readonly clients: Loaded<Client[]>;
}) {
  const { api } = useKinto();
  const [open, setOpen] = useState<Open>();
  const close = () => setOpen(undefined);
  const at = (clientId: string) => ({ params: { path: { project, env, clientId } } });
  return (
    <>
      <div class="page-head">
        <p>Apps exchange a client's id and secret for a token at the gateway. One client per app lets you revoke one alone.</p>
        <button type="button" class="secondary" onClick={() => setOpen({ kind: 'create' })}>
          New client
        </button>
      </div>
      <ErrorNote error={clients.error} />
      {!clients.data ? (
        <Loading what="clients" />
      ) : clients.data.length === 0 ? (
        <EmptyState title="No clients">
          <p>Without a client, only public blocks can be called. Create one for each app that calls this environment.</p>
        </EmptyState>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Client id</th>
                <th scope="col">Name</th>
                <th scope="col">Created</th>
                <th scope="col">Secret rotated</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {clients.data.map((c) => (
                <tr key={c.clientId}>
                  <td class="mono">{c.clientId}</td>
                  <td>{c.name ?? <span class="muted">—</span>}</td>
                  <td>
                    <When iso={c.createdAt} />
                  </td>
                  <td>
                    <When iso={c.rotatedAt} />
                  </td>
                  <td class="num">
                    <div class="row-actions">
                      <button type="button" class="secondary small" onClick={() => setOpen({ kind: 'rotate', client: c })}>
                        Rotate<span class="visually-hidden"> the secret of {c.name ?? c.clientId}</span>
                      </button>
                      <button type="button" class="danger small" onClick={() => setOpen({ kind: 'revoke', client: c })}>
                        Revoke<span class="visually-hidden"> {c.name ?? c.clientId}</span>
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {open?.kind === 'create' ? (
        <CreateClientDialog
          onClose={close}
          onCreate={async (name) => {
            const { data } = unwrap(
              await api.POST('/v1/projects/{project}/environments/{env}/clients', {
                params: { path: { project, env } },
                body: name ? { name } : {},
              }),
            );
            setOpen({ kind: 'secret', client: data, rotated: false });
            await clients.reload();
          }}
        />
      ) : null}
      {open?.kind === 'secret' ? (
        <ClientSecretDialog
          title={open.rotated ? 'New secret' : `Client ${open.client.name ?? ''} created`}
          clientId={open.client.clientId}
          secret={open.client.secret}
          onClose={close}
        />
      ) : null}
      {open?.kind === 'rotate' ? (
        <ConfirmDialog
          title={`Rotate the secret of ${open.client.name ?? open.client.clientId}`}
          confirmLabel="Rotate secret"
          busyLabel="Rotating…"
          onClose={close}
          onConfirm={async () => {
            const { data } = unwrap(
              await api.POST('/v1/projects/{project}/environments/{env}/clients/{clientId}/rotate', at(open.client.clientId)),
            );
            setOpen({ kind: 'secret', client: data, rotated: true });
            await clients.reload();
          }}
        >
          <p>The client gets a new secret. The old secret stops working, and so does every token issued with it.</p>
        </ConfirmDialog>
      ) : null}
      {open?.kind === 'revoke' ? (
        <ConfirmDialog
          title={`Revoke ${open.client.name ?? open.client.clientId}`}
          confirmLabel="Revoke client"
          busyLabel="Revoking…"
          danger
          onClose={close}
          onConfirm={async () => {
            expectOk(await api.DELETE('/v1/projects/{project}/environments/{env}/clients/{clientId}', at(open.client.clientId)));
            close();
            await clients.reload();
          }}
        >
          <p>Its secret and every token issued to it stop working, for good.</p>
        </ConfirmDialog>
      ) : null}
    </>
  );
}

function CreateClientDialog({ onClose, onCreate }: { readonly onClose: () => void; readonly onCreate: (name: string) => Promise<void> }) {
  const [name, setName] = useState('');
  const action = useAction();
  const id = useId();
  return (
    <Dialog title="New client" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(() => onCreate(name.trim()));
        }}
      >
        <label for={id}>
          Name <span class="hint">— the app that will use it, e.g. “mobile app”</span>
        </label>
        <input id={id} value={name} onInput={(e) => setName(e.currentTarget.value)} autoFocus autoComplete="off" />
        <ErrorNote error={action.error} />
        <div class="form-actions">
          <button type="button" class="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={action.busy}>
            {action.busy ? 'Creating…' : 'Create client'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
