import { useEffect, useId, useState } from 'preact/hooks';
import { unwrap } from '../../../client/kinto-client';
import { useKinto } from '../api/kinto-context';
import type { Block, BlockConfig, BlockConfigInput, Visibility } from '../api/types';
import { Loading } from './empty-state';
import { ErrorNote } from './error-note';
import { When } from './time';
import { useAction } from './use-action';
import { useLoad } from './use-load';

interface Row {
  name: string;
  /** The block's default, when it has one. */
  defaultValue?: string;
  required: boolean;
  /** The environment's own value (typed here); empty = the default. */
  value: string;
  secret: boolean;
  /** When a secret value is set in this environment (it is never shown back). */
  secretSetAt?: string;
  /** Whether this environment overrides the default now (what "Reset" undoes). */
  overridden: boolean;
}

function rowsOf(block: Block, config: BlockConfig): Row[] {
  const names = [...new Set([...Object.keys(block.variables), ...Object.keys(config.overrides)])].sort();
  return names.map((name) => {
    const def = block.variables[name];
    const own = config.overrides[name];
    return {
      name,
      ...(def?.default !== undefined ? { defaultValue: def.default } : {}),
      required: def?.required ?? false,
      value: typeof own === 'string' ? own : '',
      secret: typeof own === 'object',
      ...(typeof own === 'object' ? { secretSetAt: own.updatedAt } : {}),
      overridden: own !== undefined,
    };
  });
}

const VISIBILITY: Record<Visibility, string> = {
  protected: 'protected — clients with a token',
  public: 'public — anyone',
  internal: 'internal — only this environment’s blocks',
};

/** A custom service's idle time when its configuration sets none (the API's DEFAULT_SERVICE_IDLE_SECONDS). */
const DEFAULT_IDLE_SECONDS = 300;
/** The longest idle time the API takes (its MAX_SERVICE_IDLE_SECONDS): a day. */
const MAX_IDLE_SECONDS = 24 * 3600;

/**
 * One block's configuration in one environment: variables over their defaults (plain or secret:
 * a secret is typed in, never shown back), memory, visibility, a website's password, a job's
 * timeout, a custom service's idle time and always-on. Saved as a whole (PUT, with the revision
 * it was read at): every setting shown is sent back, since what a PUT leaves out goes back to its
 * default (but a website's password, which is kept unless replaced or removed). Resets go back to
 * defaults.
 */
export function BlockConfigEditor({ project, env, block }: { readonly project: string; readonly env: string; readonly block: Block }) {
  const { api } = useKinto();
  const path = { params: { path: { project, env, block: block.name } } };
  const config = useLoad(
    async (signal) => unwrap(await api.GET('/v1/projects/{project}/environments/{env}/blocks/{block}/config', { ...path, signal })).data,
    [project, env, block.name],
  );
  const [rows, setRows] = useState<Row[]>([]);
  const [memory, setMemory] = useState('');
  const [visibility, setVisibility] = useState<Visibility>('protected');
  const [timeout, setTimeoutSeconds] = useState('');
  const [auth, setAuth] = useState({ username: '', password: '' });
  const [idle, setIdle] = useState('');
  const [alwaysOn, setAlwaysOn] = useState(false);
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const id = useId();
  useEffect(() => {
    const c = config.data;
    if (!c) return;
    setRows(rowsOf(block, c));
    setMemory(String(c.memoryMb));
    setVisibility(c.visibility);
    setTimeoutSeconds(c.timeoutSeconds?.toString() ?? '');
    setAuth({ username: c.basicAuth?.username ?? '', password: '' });
    setIdle(c.idleTimeoutSeconds?.toString() ?? '');
    setAlwaysOn(c.alwaysOn ?? false);
  }, [config.data, block]);

  if (!config.data) return config.error ? <ErrorNote error={config.error} /> : <Loading what={`the configuration of ${block.name}`} />;
  const c = config.data;
  const service = block.type === 'custom-service';
  const edit = (i: number, change: Partial<Row>) => {
    setSaved(false);
    setRows(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));
  };

  const body = (basicAuth?: BlockConfigInput['basicAuth']): BlockConfigInput => {
    const variables: NonNullable<BlockConfigInput['variables']> = {};
    for (const r of rows) {
      if (!r.name.trim()) continue;
      if (r.secret) {
        if (r.value) variables[r.name.trim()] = { secret: r.value };
        else if (r.secretSetAt) variables[r.name.trim()] = { secret: true };
      } else if (r.value !== '') variables[r.name.trim()] = r.value;
    }
    return {
      variables,
      memoryMb: Number(memory),
      // A custom service is reached only inside its environment: the API takes no other visibility.
      ...(service ? {} : { visibility }),
      ...(block.type === 'job' && timeout ? { timeoutSeconds: Number(timeout) } : {}),
      ...(service ? { ...(idle ? { idleTimeoutSeconds: Number(idle) } : {}), alwaysOn } : {}),
      ...(basicAuth !== undefined ? { basicAuth } : {}),
    };
  };
  const save = (basicAuth?: BlockConfigInput['basicAuth']) =>
    action.run(async () => {
      const r = await api.PUT('/v1/projects/{project}/environments/{env}/blocks/{block}/config', {
        ...path,
        body: body(basicAuth),
        headers: { 'if-match': `"${c.rev}"` },
      });
      config.set(unwrap(r).data);
      setSaved(true);
    });
  const reset = (variable?: string) =>
    action.run(async () => {
      const r = variable
        ? await api.DELETE('/v1/projects/{project}/environments/{env}/blocks/{block}/config/variables/{variable}', {
            params: { path: { project, env, block: block.name, variable } },
          })
        : await api.DELETE('/v1/projects/{project}/environments/{env}/blocks/{block}/config', path);
      config.set(unwrap(r).data);
      setSaved(false);
    });

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void save(auth.password ? { username: auth.username, password: auth.password } : undefined);
      }}
    >
      {c.missingRequired.length > 0 ? (
        <p class="notice">
          Required and not set: <code>{c.missingRequired.join(', ')}</code>. A deployment fails until they are.
        </p>
      ) : null}
      <div class="table-wrap">
        <table class="config-table">
          <caption class="visually-hidden">Variables of {block.name}</caption>
          <thead>
            <tr>
              <th scope="col">Variable</th>
              <th scope="col">Default</th>
              <th scope="col">Value in {env}</th>
              <th scope="col">Secret</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                <td class="mono">
                  {r.overridden || r.defaultValue !== undefined || r.required ? (
                    r.name
                  ) : (
                    <input
                      aria-label="New variable name"
                      class="mono"
                      value={r.name}
                      onInput={(e) => edit(i, { name: e.currentTarget.value })}
                      autoComplete="off"
                    />
                  )}
                  {r.required ? <span class="hint"> required</span> : null}
                </td>
                <td class="mono">{r.defaultValue ?? <span class="muted">—</span>}</td>
                <td>
                  {(() => {
                    const common = {
                      'aria-label': `Value of ${r.name || 'the new variable'} in ${env}`,
                      class: 'mono',
                      value: r.value,
                      onInput: (e: Event) => edit(i, { value: (e.currentTarget as HTMLInputElement).value }),
                    };
                    return r.secret ? (
                      <input
                        {...common}
                        type="password"
                        autoComplete="new-password"
                        placeholder={r.secretSetAt ? 'secret set — type to replace' : ''}
                      />
                    ) : (
                      <input
                        {...common}
                        type="text"
                        autoComplete="off"
                        placeholder={r.defaultValue !== undefined ? `default: ${r.defaultValue}` : ''}
                      />
                    );
                  })()}
                  {r.secretSetAt ? (
                    <span class="hint">
                      set <When iso={r.secretSetAt} />
                    </span>
                  ) : null}
                </td>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`${r.name || 'New variable'} is secret`}
                    checked={r.secret}
                    onChange={(e) => edit(i, { secret: e.currentTarget.checked, value: '' })}
                  />
                </td>
                <td class="num">
                  {r.overridden ? (
                    <button type="button" class="link" onClick={() => void reset(r.name)} disabled={action.busy}>
                      Reset<span class="visually-hidden"> {r.name} to its default</span>
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p>
        <button
          type="button"
          class="secondary small"
          onClick={() => setRows([...rows, { name: '', required: false, value: '', secret: false, overridden: false }])}
        >
          Add a variable
        </button>
      </p>
      <div class="row">
        <div>
          <label for={`${id}-memory`}>
            Memory (MB) <span class="hint">— 128 to 10,240</span>
          </label>
          <input
            id={`${id}-memory`}
            type="number"
            min={128}
            max={10240}
            step={1}
            value={memory}
            onInput={(e) => setMemory(e.currentTarget.value)}
          />
        </div>
        {service ? (
          <div>
            <label for={`${id}-idle`}>
              Idle time (seconds) <span class="hint">— 1 to 86,400; default {DEFAULT_IDLE_SECONDS}</span>
            </label>
            <input
              id={`${id}-idle`}
              type="number"
              min={1}
              max={MAX_IDLE_SECONDS}
              step={1}
              value={idle}
              placeholder={String(DEFAULT_IDLE_SECONDS)}
              aria-describedby={`${id}-idle-help`}
              onInput={(e) => {
                setSaved(false);
                setIdle(e.currentTarget.value);
              }}
            />
            <p id={`${id}-idle-help`} class="hint">
              With no open connection for this long, the service stops; the next connection starts it again
              {alwaysOn ? ' (unused while it is always on)' : ''}.
            </p>
          </div>
        ) : (
          <div>
            <label for={`${id}-visibility`}>Visibility</label>
            <select id={`${id}-visibility`} value={visibility} onChange={(e) => setVisibility(e.currentTarget.value as Visibility)}>
              {(Object.keys(VISIBILITY) as Visibility[]).map((v) => (
                <option key={v} value={v}>
                  {VISIBILITY[v]}
                </option>
              ))}
            </select>
          </div>
        )}
        {block.type === 'job' ? (
          <div>
            <label for={`${id}-timeout`}>
              Timeout (seconds) <span class="hint">— 1 to 900</span>
            </label>
            <input
              id={`${id}-timeout`}
              type="number"
              min={1}
              max={900}
              value={timeout}
              placeholder="900"
              onInput={(e) => setTimeoutSeconds(e.currentTarget.value)}
            />
          </div>
        ) : null}
      </div>
      {service ? (
        <>
          <div class="inline setting-toggle">
            <input
              type="checkbox"
              id={`${id}-always-on`}
              checked={alwaysOn}
              aria-describedby={`${id}-always-on-help`}
              onChange={(e) => {
                setSaved(false);
                setAlwaysOn(e.currentTarget.checked);
              }}
            />
            <label for={`${id}-always-on`}>Always on</label>
          </div>
          <p id={`${id}-always-on-help`} class="hint">
            Never stopped for being idle: it keeps running (and, on AWS, costing) between connections.
          </p>
          <p class="hint">Visibility: internal — reached only by this environment’s blocks (KINTO_BLOCK_*_HOST and _PORT).</p>
        </>
      ) : null}
      {block.type === 'website' ? (
        <fieldset>
          <legend>Password (HTTP basic auth)</legend>
          <p class="hint">
            {c.basicAuth
              ? `Set for user ${c.basicAuth.username}. Type a new password to change it.`
              : 'None: anyone who may call the website sees it.'}
          </p>
          <div class="row">
            <div>
              <label for={`${id}-user`}>Username</label>
              <input
                id={`${id}-user`}
                value={auth.username}
                autoComplete="off"
                onInput={(e) => setAuth({ ...auth, username: e.currentTarget.value })}
              />
            </div>
            <div>
              <label for={`${id}-password`}>Password</label>
              <input
                id={`${id}-password`}
                type="password"
                autoComplete="new-password"
                value={auth.password}
                onInput={(e) => setAuth({ ...auth, password: e.currentTarget.value })}
              />
            </div>
          </div>
          {c.basicAuth ? (
            <p>
              <button type="button" class="danger small" onClick={() => void save(null)} disabled={action.busy}>
                Remove the password
              </button>
            </p>
          ) : null}
        </fieldset>
      ) : null}
      <ErrorNote error={action.error} />
      <div class="form-actions">
        {saved ? (
          <span role="status" class="muted">
            Saved (revision {c.rev}); it applies with the next deployment.
          </span>
        ) : null}
        <button type="button" class="secondary" onClick={() => void reset()} disabled={action.busy}>
          Reset all to defaults
        </button>
        <button type="submit" disabled={action.busy}>
          {action.busy ? 'Saving…' : `Save ${block.name} configuration`}
        </button>
      </div>
    </form>
  );
}
