import { useId, useState } from 'preact/hooks';

/** Copies `text` to the clipboard and says so for a moment; `what` completes its name for screen readers. */
export function CopyButton({ text, what }: { readonly text: string; readonly what: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      // No clipboard (an insecure origin): the text is on the page to select by hand.
    }
  };
  return (
    <button type="button" class="secondary small" onClick={() => void copy()}>
      {copied ? 'Copied' : 'Copy'}
      <span class="visually-hidden"> {what}</span>
    </button>
  );
}

/** A labelled read-only value to paste elsewhere (a URL, a secret, a command), with its copy button. */
export function Copyable({ text, label, rows }: { readonly text: string; readonly label: string; readonly rows?: number }) {
  const id = useId();
  return (
    <div class="copy-field">
      <label for={id}>{label}</label>
      <div class="copyable">
        {rows ? (
          <textarea id={id} class="mono" readOnly rows={rows} value={text} spellcheck={false} />
        ) : (
          <input id={id} class="mono" readOnly value={text} spellcheck={false} />
        )}
        <CopyButton text={text} what={label} />
      </div>
    </div>
  );
}
