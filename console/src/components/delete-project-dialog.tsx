import { useKinto } from '../api/kinto-context';
import { ConfirmNameDialog } from './confirm-dialogs';
import { announceDeletion, deletionOutcome } from './deletion-notice';

/**
 * Deleting a project (from the list or its own page): the name typed, its custom services' data
 * kept unless asked, and the outcome announced on the projects list, where the console goes next.
 * `onDeleted` runs before the dialog closes (the list reloads, or the page moves).
 */
export function DeleteProjectDialog({
  name,
  onClose,
  onDeleted,
}: {
  readonly name: string;
  readonly onClose: () => void;
  readonly onDeleted: () => Promise<unknown> | void;
}) {
  const { api } = useKinto();
  return (
    <ConfirmNameDialog
      kind="project"
      name={name}
      consequence="Its blocks, builds, releases and environments are deleted, and its environments' gateways stop answering."
      offerDataDeletion
      onClose={onClose}
      onConfirm={async ({ deleteData }) => {
        const outcome = deletionOutcome(
          await api.DELETE('/v1/projects/{project}', {
            params: { path: { project: name } },
            body: { confirm: name, ...(deleteData ? { deleteData: true } : {}) },
          }),
        );
        await onDeleted();
        announceDeletion('/', `Project ${name}`, outcome);
      }}
    />
  );
}
