import type { TestPlatform } from './platform';
import { waitFor } from './wait';

/** A block's JSON answer through the gateway; anything but 200 fails the test, naming the answer. */
export async function getJson(url: string): Promise<any> {
  const res = await fetch(url);
  const body = await res.json();
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/**
 * A block's instance log (newest first), read until `ready` holds: its last lines can reach the
 * platform a moment after the process that wrote them answered or exited.
 */
export async function instanceLinesWhen(
  kinto: TestPlatform,
  where: { project: string; env: string; block: string },
  ready: (lines: string[]) => boolean,
  timeoutMs = 5000,
): Promise<string[]> {
  let lines: string[] = [];
  await waitFor(async () => {
    await kinto.logFeed!.flush();
    const path = `/v1/projects/${where.project}/environments/${where.env}/blocks/${where.block}/logs?limit=1000`;
    lines = (await kinto.api('GET', path)).body.data.map((l: { text: string }) => l.text);
    return ready(lines);
  }, timeoutMs);
  return lines;
}
