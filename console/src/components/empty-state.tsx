import type { ComponentChildren } from 'preact';

/** What an empty list means, and what to do next. */
export function EmptyState({ title, children }: { readonly title: string; readonly children?: ComponentChildren }) {
  return (
    <div class="empty">
      <strong>{title}</strong>
      {children}
    </div>
  );
}

/** Shown while a page loads for the first time. */
export function Loading({ what }: { readonly what: string }) {
  return (
    <p class="progress" role="status">
      Loading {what}…
    </p>
  );
}
