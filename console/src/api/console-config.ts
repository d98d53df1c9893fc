/** Where the console finds the control API, and whether it may follow server-sent event streams. */
export interface ConsoleConfig {
  /** The platform's URL (the control API is under /v1). */
  readonly apiUrl: string;
  /** The local platform streams (`?follow=true`); the control API on AWS is a Lambda and cannot. */
  readonly streams: boolean;
}

/**
 * Reads `config.json` beside index.html: on AWS the platform stack writes `{apiUrl}` there; the
 * local platform answers `{streams: true}` and serves the API on the page's own origin.
 */
export async function loadConsoleConfig(): Promise<ConsoleConfig> {
  try {
    const res = await fetch('/config.json', { cache: 'no-store' });
    if (res.ok) {
      const config = (await res.json()) as { apiUrl?: unknown; streams?: unknown };
      return {
        apiUrl: typeof config.apiUrl === 'string' && config.apiUrl ? config.apiUrl : location.origin,
        streams: config.streams === true,
      };
    }
  } catch {
    // No config.json (e.g. a plain static server): the API is on this origin.
  }
  return { apiUrl: location.origin, streams: false };
}
