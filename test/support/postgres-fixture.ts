import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The folder of Debian's PostgreSQL server programs (`apt-get install postgresql`:
 * /usr/lib/postgresql/<major>/bin), the newest one installed.
 */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))) : [];
  if (majors.length === 0) throw new Error('these tests need PostgreSQL from Debian (apt-get install postgresql)');
  return join(root, majors.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

/**
 * PostgreSQL as a custom service, as a repo would start it (`sh start-db.sh`; start commands run
 * without a shell): on its first start a cluster is made beside its final place and moved there
 * once whole (a start killed mid-way leaves nothing that looks made), with user `app` and the
 * password of the secret variable DB_PASSWORD; then the server, on loopback and the platform's
 * PORT, in place of the script so that it gets the platform's SIGTERM. `PG_BIN` is a block variable.
 */
export const POSTGRES_START_SCRIPT = `set -e
D="$KINTO_DATA_DIR/pgdata"
if [ ! -s "$D/PG_VERSION" ]; then
  rm -rf "$D.new"
  printf '%s\\n' "$DB_PASSWORD" > /tmp/pwfile
  "$PG_BIN/initdb" -D "$D.new" -U app --auth=scram-sha-256 --pwfile=/tmp/pwfile --no-locale -E UTF8 --no-sync >/dev/null
  rm -f /tmp/pwfile
  mv "$D.new" "$D"
fi
exec "$PG_BIN/postgres" -D "$D" -p "$PORT" -c listen_addresses=127.0.0.1 -c unix_socket_directories=
`;

/**
 * A microservice that keeps a key-value table in the `db` custom service through the address the
 * platform gives it (KINTO_BLOCK_DB_HOST/PORT) and the password DB_PASSWORD, with Debian's psql (an argument array; values as
 * psql variables, quoted by psql): `/put?k=&v=`, `/get?k=`, `/get-as?password=` (connects with that
 * password). Like any client of a woken database, it retries while the server says it is starting up.
 */
export const POSTGRES_CLIENT_SERVICE = `
const http = require('http'), { execFile } = require('child_process');
const once = (text, vars, password) => new Promise((resolve, reject) => {
  const args = ['-h', process.env.KINTO_BLOCK_DB_HOST, '-p', process.env.KINTO_BLOCK_DB_PORT, '-U', 'app', '-d', 'postgres',
    '-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', ...Object.entries(vars).flatMap(([k, v]) => ['-v', k + '=' + v])];
  const env = { ...process.env, PGPASSWORD: password ?? process.env.DB_PASSWORD };
  const p = execFile(process.env.PG_BIN + '/psql', args, { timeout: 20000, env }, (e, out, err) => (e ? reject(new Error(err || e.message)) : resolve(out.trim())));
  p.stdin.end(text);
});
// A woken PostgreSQL accepts connections a moment before it takes queries: retry that, briefly.
const sql = async (text, vars, password) => {
  for (let i = 0; ; i++) {
    try { return await once(text, vars, password); } catch (e) {
      if (i >= 50 || !/starting up/.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
};
http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const q = (n) => url.searchParams.get(n) || '';
  let out;
  try {
    const table = "create table if not exists kv (k text primary key, v text not null);\\n";
    if (url.pathname === '/put')
      out = { ok: await sql(table + "insert into kv values (:'k', :'v') on conflict (k) do update set v = excluded.v;\\n", { k: q('k'), v: q('v') }) === '' };
    else if (url.pathname === '/get-as') out = { value: (await sql("select 1;\\n", {}, q('password'))) || null };
    else out = { value: (await sql(table + "select v from kv where k = :'k';\\n", { k: q('k') })) || null };
  } catch (e) {
    res.statusCode = 500;
    out = { error: String(e.message || e) };
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(out));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;
