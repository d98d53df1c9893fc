import { useEffect, useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { expectOk } from '../api/api-errors';
import type { Deletion, KeptData, ServiceDataFolder } from '../api/types';

type Notice =
  | {
      /** The page the console goes to after the deletion: the notice shows there, until the user leaves it. */
      readonly path: string;
      /** "Environment dev", "Project shop". */
      readonly what: string;
      readonly outcome: Deletion;
    }
  | {
      readonly path: string;
      /** The data a deleted environment left, deleted later (the Projects page's Kept data section). */
      readonly keptDataOf: string;
      readonly deleted: readonly KeptData[];
    };

// One notice at a time, kept outside the pages: the page that deleted is gone when it shows.
let current: Notice | undefined;
const listeners = new Set<() => void>();
function setNotice(notice: Notice | undefined): void {
  current = notice;
  for (const listener of listeners) listener();
}

/**
 * What a deletion's answer says about custom services' data: `200 {data: {keptData, deletedData,
 * message}}`, or nothing (`204`: there was none). Throws the API's error otherwise.
 */
export function deletionOutcome(result: { data?: { data: Deletion }; error?: unknown; response: Response }): Deletion | undefined {
  expectOk(result);
  return result.data?.data;
}

/** Tells the user, on `path` (where the console goes next), what a deletion did with data. */
export function announceDeletion(path: string, what: string, outcome: Deletion | undefined): void {
  setNotice(outcome && (outcome.keptData.length > 0 || outcome.deletedData.length > 0) ? { path, what, outcome } : undefined);
}

/**
 * Tells the user, on `path`, that the data deleted environment `environmentId` left is deleted; the
 * notice takes the keyboard focus (the button that asked for it went with its row).
 */
export function announceKeptDataDeletion(path: string, environmentId: string, deleted: readonly KeptData[]): void {
  setNotice({ path, keptDataOf: environmentId, deleted });
}

function Folders({ folders }: { readonly folders: readonly ServiceDataFolder[] }) {
  return (
    <ul>
      {folders.map((f) => (
        <li key={`${f.environment}/${f.block}`}>
          <strong>
            {f.environment} / {f.block}
          </strong>
          : <code>{f.location}</code>
        </li>
      ))}
    </ul>
  );
}

/** The last deletion's account of custom services' data, on the page the console went to; dismissible. */
export function DeletionNotice() {
  const { path } = useLocation();
  const [, rerender] = useState(0);
  useEffect(() => {
    const listener = () => rerender((n) => n + 1);
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  // Leaving the page it was shown on ends it.
  useEffect(() => {
    if (current && current.path !== path) setNotice(undefined);
  }, [path]);
  if (!current || current.path !== path) return null;
  if ('keptDataOf' in current) return <KeptDataDeleted environmentId={current.keptDataOf} deleted={current.deleted} />;
  const { what, outcome } = current;
  return (
    <div class="notice deletion-notice" role="status">
      {outcome.keptData.length > 0 ? (
        <>
          <p>
            <strong>{what} deleted.</strong> The data of its custom services is kept where it is:
          </p>
          <Folders folders={outcome.keptData} />
          <p class="hint">
            Copy what you need from there. It takes storage until it is deleted: delete it later from the Kept data section{' '}
            {path === '/' ? (
              <a href="#kept-data">below</a>
            ) : (
              <>
                of the <a href="/">Projects page</a>
              </>
            )}
            .
          </p>
        </>
      ) : null}
      {outcome.deletedData.length > 0 ? (
        <>
          <p>
            <strong>{what} deleted</strong>, with the data of its custom services:
          </p>
          <Folders folders={outcome.deletedData} />
        </>
      ) : null}
      <button type="button" class="secondary small" onClick={() => setNotice(undefined)}>
        Dismiss<span class="visually-hidden"> the notice about {what}</span>
      </button>
    </div>
  );
}

/** What deleting a deleted environment's kept data did; focused when it shows, so the keyboard carries on from here. */
function KeptDataDeleted({ environmentId, deleted }: { readonly environmentId: string; readonly deleted: readonly KeptData[] }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => ref.current?.focus(), [environmentId]);
  const what = `the kept data of environment ${environmentId}`;
  return (
    <div class="notice deletion-notice" role="status" tabIndex={-1} ref={ref}>
      <p>
        <strong>
          Kept data of environment <code>{environmentId}</code> deleted
        </strong>
        {deleted.length > 0 ? ':' : '.'}
      </p>
      {deleted.length > 0 ? (
        <ul>
          {deleted.map((d) => (
            <li key={d.block}>
              <strong>{d.block}</strong>: <code>{d.location}</code>
            </li>
          ))}
        </ul>
      ) : null}
      <button type="button" class="secondary small" onClick={() => setNotice(undefined)}>
        Dismiss<span class="visually-hidden"> the notice about {what}</span>
      </button>
    </div>
  );
}
