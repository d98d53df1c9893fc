/**
 * A microservice that uses a Redis custom service named `cache` through the platform's address
 * (KINTO_BLOCK_CACHE_HOST/PORT), speaking RESP over a fresh net.Socket per command (no client
 * library): `/set?k=&v=`, `/get?k=`, `/env` (what it was told), `/connect?port=` (can it connect);
 * `node app.js seed` is a job that sets `seeded-by` to its release.
 */
export const REDIS_CLIENT_SERVICE = `
const http = require('http'), net = require('net');
const parse = (text) => {
  const end = text.indexOf('\\r\\n');
  if (end < 0) return undefined;
  const head = text.slice(0, end);
  if (head[0] === '+') return head.slice(1);
  if (head[0] === '-') return { error: head.slice(1) };
  if (head[0] === ':') return Number(head.slice(1));
  if (head === '$-1') return null;
  if (head[0] === '$') { const n = Number(head.slice(1)); return text.length >= end + 2 + n + 2 ? text.slice(end + 2, end + 2 + n) : undefined; }
  return { error: 'unexpected ' + head };
};
const redis = (args) => new Promise((resolve, reject) => {
  const s = net.connect(Number(process.env.KINTO_BLOCK_CACHE_PORT), process.env.KINTO_BLOCK_CACHE_HOST);
  let text = '', done = false;
  s.setTimeout(10000, () => s.destroy(new Error('timeout')));
  s.on('connect', () => s.write('*' + args.length + '\\r\\n' + args.map((a) => '$' + Buffer.byteLength(a) + '\\r\\n' + a + '\\r\\n').join('')));
  s.on('data', (d) => { text += d; const r = parse(text); if (r !== undefined) { done = true; s.end(); resolve(r); } });
  s.on('error', (e) => done || reject(e));
  s.on('close', () => done || reject(new Error('closed after ' + JSON.stringify(text))));
});
const tryConnect = (port) => new Promise((resolve) => {
  const s = net.connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve({ ok: true }); });
  s.once('error', (e) => resolve({ ok: false, error: e.code }));
});
// As a pre-deploy job (\`node app.js seed\`): notes which release it ran for.
if (process.argv[2] === 'seed') {
  redis(['SET', 'seeded-by', process.env.KINTO_RELEASE]).then(
    (r) => { console.log('seeded: ' + JSON.stringify(r)); process.exit(0); },
    (e) => { console.error('seed failed: ' + e.message); process.exit(1); },
  );
} else http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const q = (n) => url.searchParams.get(n);
  let out;
  try {
    if (url.pathname === '/set') out = { reply: await redis(['SET', q('k'), q('v')]) };
    else if (url.pathname === '/get') out = { value: await redis(['GET', q('k')]) };
    else if (url.pathname === '/connect') out = await tryConnect(Number(q('port')));
    else out = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('KINTO_BLOCK_') || k === 'KINTO_DATA_DIR'));
  } catch (e) {
    res.statusCode = 500;
    out = { error: String(e.message || e) };
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(out));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

/** Redis as a custom service: its data in KINTO_DATA_DIR, listening on loopback only. */
export const REDIS_START = 'redis-server --port $PORT --bind 127.0.0.1 --dir $KINTO_DATA_DIR --save 1 1 --appendonly no';
