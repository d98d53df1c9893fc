/**
 * Headers that belong to one connection (RFC 9110 §7.6.1), plus `expect` (Node answers
 * `100-continue` itself): never passed on by a proxy, either way.
 */
export const HOP_BY_HOP_HEADERS: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
];
