import { describeError } from '../api/api-errors';

/** An API error as the API words it (its code and message), announced to screen readers. */
export function ErrorNote({ error }: { readonly error: unknown }) {
  if (error === undefined || error === null) return null;
  const { code, message } = describeError(error);
  return (
    <div class="alert" role="alert">
      {code ? <code>{code}</code> : null} {message}
    </div>
  );
}
