const TONE: Record<string, string> = {
  succeeded: 'ok',
  active: 'ok',
  running: 'run',
  'in-progress': 'run',
  queued: 'run',
  pending: '',
  failed: 'bad',
  'timed-out': 'bad',
  skipped: '',
  'shut-down': '',
};

/** A status in words, coloured by tone (the word carries the meaning; the colour only helps). */
export function StatusBadge({ status }: { readonly status: string }) {
  return <span class={`badge ${TONE[status] ?? ''}`}>{status}</span>;
}

/** An HTTP status code, coloured by class. */
export function HttpStatus({ code }: { readonly code: number }) {
  return <span class={`code-${String(code)[0]}`}>{code}</span>;
}
