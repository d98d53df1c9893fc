import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { useKinto } from '../api/kinto-context';
import { DeletionNotice } from './deletion-notice';

/** The frame of every signed-in page: where you are (breadcrumbs) and the sign-out button. */
export function Shell({ children }: { readonly children: ComponentChildren }) {
  const { signOut } = useKinto();
  const { path } = useLocation();
  const crumbs = breadcrumbs(path);
  return (
    <>
      <header class="topbar">
        <a class="brand" href="/">
          Kinto
        </a>
        <nav aria-label="Breadcrumbs" class="crumbs-nav">
          <ol class="crumbs">
            {crumbs.map((c, i) => (
              <li key={c.href}>
                <a href={c.href} aria-current={i === crumbs.length - 1 ? 'page' : undefined}>
                  {c.label}
                </a>
              </li>
            ))}
          </ol>
        </nav>
        <button type="button" class="secondary small" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main>
        <DeletionNotice />
        {children}
      </main>
    </>
  );
}

/** /projects/shop/environments/dev/logs -> Projects / shop / dev / logs */
export function breadcrumbs(path: string): { href: string; label: string }[] {
  const crumbs = [{ href: '/', label: 'Projects' }];
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== 'projects' || !parts[1]) return crumbs;
  const project = `/projects/${encodeURIComponent(parts[1])}`;
  crumbs.push({ href: project, label: parts[1] });
  if ((parts[2] === 'blocks' || parts[2] === 'environments') && parts[3]) {
    const at = `${project}/${parts[2]}/${encodeURIComponent(parts[3])}`;
    crumbs.push({ href: at, label: `${parts[2] === 'blocks' ? 'block' : 'environment'} ${parts[3]}` });
    if (parts[4]) crumbs.push({ href: `${at}/${parts[4]}`, label: parts[4] });
  }
  return crumbs;
}
