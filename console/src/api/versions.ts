/** MAJOR.MINOR.REVISION as numbers, compared part by part (10.0.0 after 9.9.9). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The version to suggest for the next release: the newest one's next revision, or 1.0.0. */
export function nextRevision(versions: readonly string[]): string {
  const newest = [...versions].sort(compareVersions).at(-1);
  if (!newest) return '1.0.0';
  const [major = 1, minor = 0, revision = 0] = newest.split('.').map(Number);
  return `${major}.${minor}.${revision + 1}`;
}
