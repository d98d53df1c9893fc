import type { ComponentChildren } from 'preact';
import { Copyable } from './copy-button';
import { Dialog } from './dialog';

/**
 * A client's id and secret, right after it was created or rotated: Kinto keeps only a hash of the
 * secret, so this is the one time it can be shown.
 */
export function ClientSecretDialog({
  title,
  clientId,
  secret,
  onClose,
  children,
}: {
  readonly title: string;
  readonly clientId: string;
  readonly secret: string;
  readonly onClose: () => void;
  readonly children?: ComponentChildren;
}) {
  return (
    <Dialog title={title} onClose={onClose}>
      <p class="notice">Copy the secret now: it is shown only this once. Apps exchange the id and secret for a token at the gateway.</p>
      <Copyable label="Client id" text={clientId} />
      <Copyable label="Client secret" text={secret} />
      {children}
      <div class="form-actions">
        <button type="button" onClick={onClose}>
          I have copied the secret
        </button>
      </div>
    </Dialog>
  );
}
