import type { ComponentChildren } from 'preact';
import { useId, useState } from 'preact/hooks';
import { Dialog } from './dialog';
import { ErrorNote } from './error-note';
import { useAction } from './use-action';

export interface ConfirmNameProps {
  /** What is deleted: "project", "environment", "block". */
  readonly kind: string;
  readonly name: string;
  /** What deleting it does, in a sentence or two. */
  readonly consequence: ComponentChildren;
  /**
   * Environments and projects: whether to delete their custom services' data too (a checkbox,
   * unchecked: the data is kept unless the user asks).
   */
  readonly offerDataDeletion?: boolean;
  readonly onConfirm: (options: { readonly deleteData: boolean }) => Promise<unknown>;
  readonly onClose: () => void;
}

/** Deleting something that cannot come back: the user types its name first. */
export function ConfirmNameDialog({ kind, name, consequence, offerDataDeletion, onConfirm, onClose }: ConfirmNameProps) {
  const [typed, setTyped] = useState('');
  const [deleteData, setDeleteData] = useState(false);
  const action = useAction();
  const id = useId();
  return (
    <Dialog title={`Delete ${kind} ${name}`} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(() => onConfirm({ deleteData: offerDataDeletion === true && deleteData }));
        }}
      >
        <p>{consequence}</p>
        <label for={id}>
          Type <code>{name}</code> to confirm
        </label>
        <input id={id} value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autoComplete="off" autoFocus />
        {offerDataDeletion ? (
          <div class="inline delete-data">
            <input type="checkbox" id={`${id}-data`} checked={deleteData} onChange={(e) => setDeleteData(e.currentTarget.checked)} />
            <label for={`${id}-data`}>
              Also delete the custom services' data{' '}
              <span class="hint">— left unchecked, the data is kept, and its location shown after deleting</span>
            </label>
          </div>
        ) : null}
        <ErrorNote error={action.error} />
        <div class="form-actions">
          <button type="button" class="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="danger" disabled={typed !== name || action.busy}>
            {action.busy ? 'Deleting…' : `Delete ${kind}`}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export interface ConfirmProps {
  readonly title: string;
  readonly confirmLabel: string;
  readonly busyLabel: string;
  readonly danger?: boolean;
  readonly children: ComponentChildren;
  readonly onConfirm: () => Promise<unknown>;
  readonly onClose: () => void;
}

/** A yes/no question before an action that changes what runs (shut down, revoke, rotate). */
export function ConfirmDialog({ title, confirmLabel, busyLabel, danger, children, onConfirm, onClose }: ConfirmProps) {
  const action = useAction();
  return (
    <Dialog title={title} onClose={onClose}>
      {children}
      <ErrorNote error={action.error} />
      <div class="form-actions">
        <button type="button" class="secondary" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          class={danger ? 'danger' : undefined}
          disabled={action.busy}
          onClick={() => void action.run(onConfirm)}
          autoFocus
        >
          {action.busy ? busyLabel : confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
