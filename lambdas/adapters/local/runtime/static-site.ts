import { realpath, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';

/** What a static website has at a path. */
export type StaticLookup =
  { readonly kind: 'file'; readonly root: string; readonly path: string } | { readonly kind: 'directory' } | { readonly kind: 'missing' };

const inside = (path: string, root: string): boolean => path === root || path.startsWith(root + sep);

/**
 * A static website's files: only those whose real path (every link resolved) lies inside its
 * output folder, however a link got there (committed, made by the build, or a linked folder).
 * The output folder itself must resolve inside the build's folder.
 */
export class StaticSite {
  private root?: Promise<string | undefined>;

  constructor(
    private readonly artifact: string,
    private readonly outputDir: string | undefined,
  ) {}

  /** The output folder's real path, or undefined when it is missing or leads outside the build. */
  realRoot(): Promise<string | undefined> {
    return (this.root ??= confinedRoot(this.artifact, this.outputDir));
  }

  /** `urlPath` is the path as requested (still percent-encoded), e.g. `/docs/a%20b.html`. */
  async lookup(urlPath: string): Promise<StaticLookup> {
    const root = await this.realRoot();
    if (!root) return MISSING;
    let decoded: string;
    try {
      decoded = decodeURIComponent(urlPath);
    } catch {
      return MISSING;
    }
    // Dot segments are never served: hidden files, and `..` before any normalising.
    if (decoded.includes('\0') || decoded.includes('\\') || decoded.split('/').some((s) => s.startsWith('.'))) return MISSING;
    let real = await realpath(join(root, decoded)).catch(() => undefined);
    if (!real || !inside(real, root)) return MISSING;
    let info = await stat(real).catch(() => undefined);
    if (info?.isDirectory()) {
      if (!decoded.endsWith('/')) return { kind: 'directory' };
      real = await realpath(join(real, 'index.html')).catch(() => undefined);
      if (!real || !inside(real, root)) return MISSING;
      info = await stat(real).catch(() => undefined);
    }
    if (!info?.isFile()) return MISSING;
    return { kind: 'file', root, path: `/${relative(root, real).split(sep).map(encodeURIComponent).join('/')}` };
  }
}

const MISSING: StaticLookup = { kind: 'missing' };

/** `outputDir` inside `base` (by real path), or undefined. */
export async function confinedRoot(base: string, outputDir: string | undefined): Promise<string | undefined> {
  const realBase = await realpath(base).catch(() => undefined);
  if (!realBase) return undefined;
  const real = await realpath(resolve(realBase, outputDir ?? '.')).catch(() => undefined);
  if (!real || !inside(real, realBase)) return undefined;
  return (await stat(real).catch(() => undefined))?.isDirectory() ? real : undefined;
}
