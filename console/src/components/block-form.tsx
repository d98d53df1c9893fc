import { useId, useState } from 'preact/hooks';
import type { Block, BlockInput, BlockKind, BlockType } from '../api/types';
import { ErrorNote } from './error-note';
import { useAction } from './use-action';

const KINDS: Partial<Record<BlockType, { kind: BlockKind; label: string }[]>> = {
  website: [
    { kind: 'static', label: 'static files from the repo' },
    { kind: 'static-build', label: 'static files made by a build command' },
    { kind: 'dynamic', label: 'dynamic (a server)' },
  ],
  job: [
    { kind: 'pre-deploy', label: 'pre-deploy (runs before the switch)' },
    { kind: 'post-deploy', label: 'post-deploy (runs after the switch)' },
    { kind: 'cron', label: 'cron (on a schedule)' },
  ],
};

interface VariableRow {
  name: string;
  default: string;
  required: boolean;
}

export interface BlockFormProps {
  /** Editing this block (PATCH); adding a new one when absent. */
  readonly block?: Block;
  readonly submitLabel: string;
  readonly busyLabel: string;
  readonly onSubmit: (input: BlockInput) => Promise<unknown>;
  readonly onCancel: () => void;
}

/** A block's definition: name, type and kind, git source, build settings and default variables. */
export function BlockForm({ block, submitLabel, busyLabel, onSubmit, onCancel }: BlockFormProps) {
  const [name, setName] = useState(block?.name ?? '');
  const [description, setDescription] = useState(block?.description ?? '');
  const [type, setType] = useState<BlockType>(block?.type ?? 'microservice');
  const [kind, setKind] = useState<BlockKind | ''>(block?.kind ?? '');
  const [schedule, setSchedule] = useState(block?.schedule ?? '');
  const [source, setSource] = useState({ branch: '', commit: '', subfolder: '', ...block?.source, repo: block?.source.repo ?? '' });
  const [build, setBuild] = useState({
    buildCommand: block?.build.buildCommand ?? '',
    startCommand: block?.build.startCommand ?? '',
    port: block?.build.port?.toString() ?? '',
    outputDir: block?.build.outputDir ?? '',
    dockerfile: block?.build.dockerfile ?? '',
    buildArgs: Object.entries(block?.build.buildArgs ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
  });
  const [variables, setVariables] = useState<VariableRow[]>(
    Object.entries(block?.variables ?? {}).map(([n, v]) => ({ name: n, default: v.default ?? '', required: v.required ?? false })),
  );
  const setVariable = (i: number, change: Partial<VariableRow>) =>
    setVariables(variables.map((x, j) => (j === i ? { ...x, ...change } : x)));
  const action = useAction();
  const id = useId();
  const kinds = KINDS[type];
  const field = (key: string) => `${id}-${key}`;

  const input = (): BlockInput => {
    const buildArgs: Record<string, string> = {};
    for (const line of build.buildArgs.split('\n')) {
      const eq = line.indexOf('=');
      if (line.trim() && eq > 0) buildArgs[line.slice(0, eq).trim()] = line.slice(eq + 1);
    }
    const vars: NonNullable<BlockInput['variables']> = {};
    for (const v of variables) {
      if (v.name.trim())
        vars[v.name.trim()] = { ...(v.default !== '' ? { default: v.default } : {}), ...(v.required ? { required: true } : {}) };
    }
    const opt = <T,>(value: T | '') => (value === '' ? undefined : value);
    const chosenKind = kinds ? kind || kinds[0].kind : undefined;
    return {
      name,
      description,
      type,
      ...(chosenKind ? { kind: chosenKind } : {}),
      ...(chosenKind === 'cron' ? { schedule } : {}),
      source: {
        repo: source.repo,
        ...(opt(source.branch) ? { branch: source.branch } : {}),
        ...(opt(source.commit) ? { commit: source.commit } : {}),
        ...(opt(source.subfolder) ? { subfolder: source.subfolder } : {}),
      },
      build: {
        ...(build.buildCommand ? { buildCommand: build.buildCommand } : {}),
        ...(build.startCommand ? { startCommand: build.startCommand } : {}),
        ...(build.port ? { port: Number(build.port) } : {}),
        ...(build.outputDir ? { outputDir: build.outputDir } : {}),
        ...(build.dockerfile ? { dockerfile: build.dockerfile } : {}),
        buildArgs,
      },
      variables: vars,
    };
  };

  const text = (key: keyof typeof build, label: string, hint?: string) => (
    <div>
      <label for={field(key)}>
        {label} {hint ? <span class="hint">— {hint}</span> : null}
      </label>
      <input
        id={field(key)}
        class="mono"
        value={build[key]}
        onInput={(e) => setBuild({ ...build, [key]: e.currentTarget.value })}
        autoComplete="off"
        inputMode={key === 'port' ? 'numeric' : undefined}
      />
    </div>
  );
  const sourceField = (key: 'repo' | 'branch' | 'commit' | 'subfolder', label: string, hint?: string) => (
    <div>
      <label for={field(key)}>
        {label} {hint ? <span class="hint">— {hint}</span> : null}
      </label>
      <input
        id={field(key)}
        class="mono"
        value={source[key]}
        required={key === 'repo'}
        onInput={(e) => setSource({ ...source, [key]: e.currentTarget.value })}
        autoComplete="off"
      />
    </div>
  );

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(() => onSubmit(input()));
      }}
    >
      <div class="row">
        {block ? null : (
          <div>
            <label for={field('name')}>
              Name <span class="hint">— used in the gateway URL</span>
            </label>
            <input id={field('name')} value={name} onInput={(e) => setName(e.currentTarget.value)} required autoFocus autoComplete="off" />
          </div>
        )}
        <div>
          <label for={field('type')}>Type</label>
          <select
            id={field('type')}
            value={type}
            onChange={(e) => {
              const t = e.currentTarget.value as BlockType;
              setType(t);
              setKind(KINDS[t]?.[0]?.kind ?? '');
            }}
          >
            <option value="microservice">microservice</option>
            <option value="website">website</option>
            <option value="custom-service">custom service (Dockerfile, e.g. a database)</option>
            <option value="job">job</option>
          </select>
        </div>
        {kinds ? (
          <div>
            <label for={field('kind')}>Kind</label>
            <select id={field('kind')} value={kind || kinds[0].kind} onChange={(e) => setKind(e.currentTarget.value as BlockKind)}>
              {kinds.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.label}
                </option>
              ))}
            </select>
          </div>
        ) : null}
        {kinds && (kind || kinds[0].kind) === 'cron' ? (
          <div>
            <label for={field('schedule')}>
              Schedule <span class="hint">— 5 fields, UTC</span>
            </label>
            <input
              id={field('schedule')}
              class="mono"
              value={schedule}
              placeholder="*/15 * * * *"
              onInput={(e) => setSchedule(e.currentTarget.value)}
              required
            />
          </div>
        ) : null}
      </div>
      <label for={field('description')}>Description</label>
      <input id={field('description')} value={description} onInput={(e) => setDescription(e.currentTarget.value)} autoComplete="off" />
      <fieldset>
        <legend>Source</legend>
        {sourceField('repo', 'Git repository', 'any git URL or absolute path this platform can reach')}
        <div class="row">
          {sourceField('branch', 'Branch')}
          {sourceField('commit', 'Commit', 'pins one; instead of a branch')}
          {sourceField('subfolder', 'Subfolder')}
        </div>
      </fieldset>
      <fieldset>
        <legend>Build and run</legend>
        <div class="row">
          {text('buildCommand', 'Build command')}
          {text('startCommand', 'Start command', 'listens on $PORT')}
        </div>
        <div class="row">
          {text('port', 'Port')}
          {text('outputDir', 'Output folder', 'static websites')}
          {text('dockerfile', 'Dockerfile', 'AWS only')}
        </div>
        <label for={field('buildArgs')}>
          Build arguments <span class="hint">— NAME=value, one a line; never secrets</span>
        </label>
        <textarea
          id={field('buildArgs')}
          class="mono"
          rows={2}
          value={build.buildArgs}
          onInput={(e) => setBuild({ ...build, buildArgs: e.currentTarget.value })}
        />
      </fieldset>
      <fieldset>
        <legend>Variables and their defaults</legend>
        {variables.length === 0 ? <p class="hint">No variables: each environment can still set its own.</p> : null}
        {variables.map((v, i) => (
          <div class="row variable-row" key={i}>
            <div>
              <label for={field(`var-${i}`)}>Name</label>
              <input id={field(`var-${i}`)} class="mono" value={v.name} onInput={(e) => setVariable(i, { name: e.currentTarget.value })} />
            </div>
            <div>
              <label for={field(`default-${i}`)}>Default</label>
              <input
                id={field(`default-${i}`)}
                class="mono"
                value={v.default}
                onInput={(e) => setVariable(i, { default: e.currentTarget.value })}
              />
            </div>
            <div class="inline variable-flags">
              <input
                type="checkbox"
                id={field(`required-${i}`)}
                checked={v.required}
                onChange={(e) => setVariable(i, { required: e.currentTarget.checked })}
              />
              <label for={field(`required-${i}`)}>required</label>
              <button type="button" class="link" onClick={() => setVariables(variables.filter((_, j) => j !== i))}>
                Remove<span class="visually-hidden"> variable {v.name}</span>
              </button>
            </div>
          </div>
        ))}
        <p>
          <button
            type="button"
            class="secondary small"
            onClick={() => setVariables([...variables, { name: '', default: '', required: false }])}
          >
            Add a variable
          </button>
        </p>
      </fieldset>
      <ErrorNote error={action.error} />
      <div class="form-actions">
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" disabled={action.busy}>
          {action.busy ? busyLabel : submitLabel}
        </button>
      </div>
    </form>
  );
}
