import { useEffect } from 'preact/hooks';

/** Each page names itself in the tab title (what screen readers announce on navigation). */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Kinto`;
  }, [title]);
}
