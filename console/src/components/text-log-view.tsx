import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { describeError, isAbort } from '../api/api-errors';
import { followTextLog, type LogChunk } from '../api/follow';

export interface TextLogProps {
  /** Names the log for screen readers ("Build log of hello"). */
  readonly label: string;
  /** Reads the log from an offset (the API's `?offset=`); `running` false once it is complete. */
  readonly read: (offset: number, signal: AbortSignal) => Promise<LogChunk>;
}

/**
 * A build's or job run's output, read while it is written: new text is appended and the view
 * stays at the bottom unless the reader scrolled up.
 */
export function TextLogView({ label, read }: TextLogProps) {
  const [text, setText] = useState('');
  const [state, setState] = useState<'following' | 'done' | 'failed'>('following');
  const [error, setError] = useState('');
  const ref = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    const controller = new AbortController();
    setText('');
    setState('following');
    followTextLog(read, (t) => setText((all) => all + t), controller.signal).then(
      () => setState('done'),
      (e) => {
        if (isAbort(e)) return;
        setError(describeError(e).message);
        setState('failed');
      },
    );
    return () => controller.abort();
  }, [read]);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [text]);
  return (
    <div>
      <pre
        ref={ref}
        class="log"
        role="log"
        aria-label={label}
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
        }}
      >
        {text || (state === 'following' ? 'Waiting for output…' : '(no output)')}
      </pre>
      <p class="hint" role="status">
        {state === 'following'
          ? 'Following the log while it runs…'
          : state === 'done'
            ? 'End of log.'
            : `The log could not be read: ${error}`}
      </p>
    </div>
  );
}
