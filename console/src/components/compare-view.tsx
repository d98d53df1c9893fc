import type { Comparison } from '../api/types';

const show = (v: unknown) => (v === undefined || v === null ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

/** What a deployment would change in an environment: blocks, their builds and definitions, and configuration. */
export function CompareView({ comparison, env }: { readonly comparison: Comparison; readonly env: string }) {
  const c = comparison;
  const nothing =
    c.blocks.added.length + c.blocks.removed.length + c.blocks.changed.length === 0 &&
    c.config.every((b) => b.settings.length + b.variables.added.length + b.variables.removed.length + b.variables.changed.length === 0);
  return (
    <section aria-label="What changes" class="compare">
      <p>
        <strong>{env}</strong> runs {c.from ? <strong>{c.from.release}</strong> : 'nothing yet'}; it would run{' '}
        <strong>{c.to.release}</strong>
        {c.to.promotedFrom ? ` (as ${c.to.promotedFrom} runs it)` : ''}.
      </p>
      {nothing ? <p class="muted">Nothing changes: the same blocks, builds and configuration.</p> : null}
      <ul class="changes">
        {c.blocks.added.map((b) => (
          <li key={`a-${b}`}>
            <span class="badge ok">added</span> block <code>{b}</code>
          </li>
        ))}
        {c.blocks.removed.map((b) => (
          <li key={`r-${b}`}>
            <span class="badge bad">removed</span> block <code>{b}</code>
          </li>
        ))}
        {c.blocks.changed.map((b) => (
          <li key={`c-${b.block}`}>
            <span class="badge run">changed</span> block <code>{b.block}</code>
            <ul>
              {b.changes.map((f) => (
                <li key={f.field}>
                  {f.field}: <code>{show(f.from)}</code> → <code>{show(f.to)}</code>
                </li>
              ))}
            </ul>
          </li>
        ))}
        {c.config.map((b) =>
          [...b.variables.added, ...b.variables.removed, ...b.variables.changed].length + b.settings.length === 0 ? null : (
            <li key={`cfg-${b.block}`}>
              <span class="badge run">config</span> of <code>{b.block}</code>
              <ul>
                {b.variables.added.map((v) => (
                  <li key={`va-${v.name}`}>
                    variable <code>{v.name}</code> set
                    {v.secret ? (
                      ' (secret)'
                    ) : (
                      <>
                        {' '}
                        to <code>{show(v.to)}</code>
                      </>
                    )}
                  </li>
                ))}
                {b.variables.removed.map((v) => (
                  <li key={`vr-${v.name}`}>
                    variable <code>{v.name}</code> removed
                  </li>
                ))}
                {b.variables.changed.map((v) => (
                  <li key={`vc-${v.name}`}>
                    variable <code>{v.name}</code>{' '}
                    {v.secret ? (
                      'changed (secret: value not shown)'
                    ) : (
                      <>
                        <code>{show(v.from)}</code> → <code>{show(v.to)}</code>
                      </>
                    )}
                  </li>
                ))}
                {b.settings.map((f) => (
                  <li key={`s-${f.field}`}>
                    {f.field}: <code>{show(f.from)}</code> → <code>{show(f.to)}</code>
                  </li>
                ))}
              </ul>
            </li>
          ),
        )}
      </ul>
      {c.blocks.unchanged.length > 0 ? <p class="muted">Unchanged blocks: {c.blocks.unchanged.join(', ')}.</p> : null}
    </section>
  );
}
