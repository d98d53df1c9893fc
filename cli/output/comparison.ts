import type { Comparison } from '../api/types';
import { out as stdoutColors, type Colors } from './colors';
import { shortSha } from './format';

type FieldChange = Comparison['blocks']['changed'][number]['changes'][number];
type VariableChange = Comparison['config'][number]['variables']['added'][number];

/**
 * What a deployment would change, in a few lines: blocks added (+), removed (-) and changed (~)
 * with the fields that differ, then configuration per block. Secret values are never shown (the
 * API does not send them): only that they change.
 *
 * @example
 * // dev: 1.0.0 -> 1.1.0
 * //   ~ hello  commit 1a2b3c4 -> 5d6e7f8
 * //   ~ hello config  GREETING "hi" -> "hey", + API_KEY (secret)
 */
export function comparisonSummary(c: Comparison, env: string, out: Colors = stdoutColors): string {
  const lines: string[] = [];
  const target = c.to.promotedFrom ? `${c.to.release} (running in ${c.to.promotedFrom})` : c.to.release;
  lines.push(`${out.bold(env)}: ${c.from ? c.from.release : 'nothing deployed yet'} -> ${out.bold(target)}`);
  for (const b of c.blocks.added) lines.push(`  ${out.green('+')} ${b}`);
  for (const b of c.blocks.removed) lines.push(`  ${out.red('-')} ${b}`);
  for (const { block, changes } of c.blocks.changed) {
    // A new commit implies a new build; a build alone (the same commit built again) is named in full.
    const shown = changes.some((f) => f.field === 'commit') ? changes.filter((f) => f.field !== 'buildId') : changes;
    lines.push(`  ${out.yellow('~')} ${block}  ${shown.map(field).join(', ')}`);
  }
  for (const cfg of c.config) {
    const parts = [
      ...cfg.variables.added.map((v) => `${out.green('+')} ${variable(v, 'to')}`),
      ...cfg.variables.removed.map((v) => `${out.red('-')} ${variable(v, 'from')}`),
      ...cfg.variables.changed.map(
        (v) => `${out.yellow('~')} ${v.secret ? `${v.name} (secret)` : `${v.name} ${show(v.from)} -> ${show(v.to)}`}`,
      ),
      ...cfg.settings.map((s) => `${out.yellow('~')} ${s.field} ${show(s.from)} -> ${show(s.to)}`),
    ];
    lines.push(`  ${out.yellow('~')} ${cfg.block} config  ${parts.join(', ')}`);
  }
  if (c.blocks.unchanged.length) lines.push(`  ${out.dim(`= ${c.blocks.unchanged.join(', ')} unchanged`)}`);
  if (!c.blocks.added.length && !c.blocks.removed.length && !c.blocks.changed.length && !c.config.length) {
    lines.push(`  ${out.dim('no changes to blocks or configuration')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** True when deploying would change nothing at all. */
export const isNoChange = (c: Comparison): boolean =>
  c.from?.release === c.to.release && !c.blocks.added.length && !c.blocks.removed.length && !c.blocks.changed.length && !c.config.length;

function field(f: FieldChange): string {
  if (f.field === 'commit') return `commit ${shortSha(f.from as string | null)} -> ${shortSha(f.to as string | null)}`;
  if (f.field === 'buildId') return `build ${show(f.from)} -> ${show(f.to)}`;
  return `${f.field} ${show(f.from)} -> ${show(f.to)}`;
}

function variable(v: VariableChange, side: 'from' | 'to'): string {
  return v.secret ? `${v.name} (secret)` : `${v.name}=${show(v[side])}`;
}

function show(value: unknown): string {
  if (value === null || value === undefined) return 'none';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
