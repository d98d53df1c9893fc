import { useEffect, useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { unwrap } from '../../../client/kinto-client';
import { isAbort } from '../api/api-errors';
import { followInstanceLog } from '../api/follow';
import { useKinto } from '../api/kinto-context';
import type { Block, InstanceLine } from '../api/types';
import { ErrorNote } from './error-note';
import { useAction } from './use-action';

/** At most this many lines stay on the page while following (the oldest go first). */
const KEEP = 2000;

/**
 * A block's instance log: what it wrote outside requests and the platform's events about it
 * (started, exited, stopped when idle). Followed live, or searched within a time range.
 */
export function InstanceLog({
  project,
  env,
  blocks,
}: {
  readonly project: string;
  readonly env: string;
  readonly blocks: readonly Block[];
}) {
  const kinto = useKinto();
  const { api } = kinto;
  const [block, setBlock] = useState(blocks[0]?.name ?? '');
  const [q, setQ] = useState('');
  const [search, setSearch] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [follow, setFollow] = useState(true);
  const [lines, setLines] = useState<InstanceLine[]>([]);
  const [error, setError] = useState<unknown>();
  const [state, setState] = useState('');
  const [older, setOlder] = useState<{ query: Record<string, string>; cursor: string } | null>(null);
  const loadOlder = useAction();
  const id = useId();
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => {
    if (!block) return;
    const controller = new AbortController();
    setLines([]);
    setError(undefined);
    setOlder(null);
    const where = { project, env, block };
    const fail = (e: unknown) => isAbort(e) || (setError(e), setState(''));
    if (follow) {
      setState('Following: new lines appear as they are written.');
      followInstanceLog(
        kinto,
        where,
        { q: search, limit: 200 },
        (more) => setLines((all) => [...all, ...more].slice(-KEEP)),
        controller.signal,
      ).then(() => setState('The stream ended; follow again to resume.'), fail);
    } else {
      setState('');
      const query = {
        limit: '500',
        ...(search ? { q: search } : {}),
        ...(from ? { from: new Date(from).toISOString() } : {}),
        ...(to ? { to: new Date(to).toISOString() } : {}),
      };
      api
        .GET('/v1/projects/{project}/environments/{env}/blocks/{block}/logs', { params: { path: where, query }, signal: controller.signal })
        .then((r) => {
          const page = unwrap(r);
          setLines([...page.data].reverse());
          setOlder(page.nextCursor ? { query, cursor: page.nextCursor } : null);
          setState(`${page.data.length} lines${page.nextCursor ? ', the newest first: older ones above' : ''}.`);
        }, fail);
    }
    return () => controller.abort();
  }, [block, follow, search, from, to]);
  useLayoutEffect(() => {
    const el = list.current;
    if (el && follow) el.scrollTop = el.scrollHeight;
  }, [lines]);

  if (blocks.length === 0) return <p class="muted">No blocks.</p>;
  return (
    <section aria-label="Instance log">
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setSearch(q);
        }}
      >
        <div>
          <label for={`${id}-block`}>Block</label>
          <select id={`${id}-block`} value={block} onChange={(e) => setBlock(e.currentTarget.value)}>
            {blocks.map((b) => (
              <option key={b.name} value={b.name}>
                {b.name}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for={`${id}-q`}>Search</label>
          <input id={`${id}-q`} type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </div>
        {follow ? null : (
          <>
            <div>
              <label for={`${id}-from`}>From</label>
              <input id={`${id}-from`} type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
            </div>
            <div>
              <label for={`${id}-to`}>To</label>
              <input id={`${id}-to`} type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
            </div>
          </>
        )}
        <button type="submit" class="secondary">
          Search
        </button>
        <button type="button" aria-pressed={follow} onClick={() => setFollow(!follow)}>
          {follow ? 'Stop following' : 'Follow live'}
        </button>
      </form>
      <ErrorNote error={error} />
      {older && !follow ? (
        <p>
          <button
            type="button"
            class="secondary small"
            disabled={loadOlder.busy}
            onClick={() =>
              void loadOlder.run(async () => {
                const page = unwrap(
                  await api.GET('/v1/projects/{project}/environments/{env}/blocks/{block}/logs', {
                    params: { path: { project, env, block }, query: { ...older.query, before: older.cursor } },
                  }),
                );
                setLines((all) => [...[...page.data].reverse(), ...all]);
                setOlder(page.nextCursor ? { query: older.query, cursor: page.nextCursor } : null);
              })
            }
          >
            {loadOlder.busy ? 'Loading…' : 'Older lines'}
          </button>
        </p>
      ) : null}
      <ErrorNote error={loadOlder.error} />
      <ol class="log-lines" ref={list} tabIndex={0} aria-label={`Instance log of ${block}`}>
        {lines.length === 0 ? <li>{follow ? 'No lines yet: they appear here as the block writes them.' : 'No lines.'}</li> : null}
        {lines.map((l, i) => (
          <li key={i} class={l.stream}>
            <time dateTime={l.time}>{new Date(l.time).toLocaleTimeString(undefined, { hour12: false })}</time>
            {l.stream === 'platform' ? '[kinto] ' : ''}
            {l.text}
          </li>
        ))}
      </ol>
      <p class="hint" role="status">
        {state}
      </p>
    </section>
  );
}
