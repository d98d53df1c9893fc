import EventSource from 'eventsource';

/** Why a stream stopped or could not open: an HTTP status (the server refused it), or none (the connection dropped). */
export interface StreamError {
  readonly status?: number;
  readonly message?: string;
}

export interface EventStream {
  close(): void;
}

/**
 * Opens a server-sent event stream of the control API (an EventSource client, which also resumes
 * after a dropped connection with `Last-Event-ID`), sending the admin token in `Authorization`.
 * `on` maps event names to handlers of their `data`; `onError` hears every failure, and decides
 * by closing the stream whether the client goes on retrying.
 */
export function openEventStream(
  url: string,
  token: string,
  on: Record<string, (data: string) => void>,
  onError: (error: StreamError, stream: EventStream) => void,
): EventStream {
  const source = new EventSource(url, { headers: { Authorization: `Bearer ${token}` } });
  for (const [event, handle] of Object.entries(on)) source.addEventListener(event, (e) => handle(String(e.data)));
  const stream: EventStream = { close: () => source.close() };
  source.onerror = (e) => {
    const { status, message } = e as unknown as { status?: number; message?: string };
    onError({ status, message }, stream);
  };
  return stream;
}
