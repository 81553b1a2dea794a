/**
 * The LockWatch demo API (`npm start`): a plain node:http server composed by
 * `lockWatchFromEnv`, with logins, rotating refresh tokens, sessions, a
 * protected route, a rate-limited route with the burst detector, and the
 * audit log. Memory stores and a SQLite audit file under ./data/ by default;
 * Redis and PostgreSQL when REDIS_URL / LOCKWATCH_DATABASE_URL are set; every
 * variable of docs/configuration.md applies. PORT (3000) and
 * LOCKWATCH_DEMO_PASSWORD (random, printed) are the demo's own.
 * It prints the curl commands to try each route; SIGTERM or Ctrl-C stops it
 * with the audit log flushed. It needs no set-up: the audit database, SQLite
 * or PostgreSQL, is migrated at start.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { nodeLockWatch } from '../src/http/node.ts';
import {
  createHttpPipeline,
  createPasswordHasher,
  generateSigningKey,
  InvalidOptionError,
  isTokenError,
  type LockWatchContext,
  lockWatchFromEnv,
} from '../src/index.ts';

const port = process.env.PORT === undefined ? 3000 : Number(process.env.PORT);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`Invalid PORT: got ${JSON.stringify(process.env.PORT)}; expected 0 to 65535.`);
  process.exit(1);
}
const password = process.env.LOCKWATCH_DEMO_PASSWORD || randomBytes(9).toString('base64url');
const demoDatabase = 'sqlite:./data/lockwatch-demo.db';

// Without a key variable the demo signs with a key made at start (tokens die with the process).
const ephemeral = await generateSigningKey('ES256');
const lw = await lockWatchFromEnv({
  defaultDatabaseUrl: demoDatabase,
  // A demo runs on a fresh database too; an application would run `lockwatch migrate up` in its
  // deployment and keep PostgreSQL's default, `check`.
  migrate: 'auto',
  tokens: {
    issuer: 'lockwatch-demo',
    audience: 'lockwatch-demo',
    keys: [{ kid: ephemeral.kid, alg: ephemeral.alg, privateKey: ephemeral.privateKey }],
    // Plain HTTP on localhost: the cookie cannot be Secure; it goes to /auth/* only.
    cookie: { path: '/auth', secure: false, sameSite: 'Strict' },
  },
  http: { skip: { paths: ['/health'] } },
  // Records reach GET /audit within a quarter of a second.
  audit: { flushInterval: '250ms' },
});
const sessions = lw.sessions!;
const hasher = await createPasswordHasher();
const users = new Map<string, string>();
for (const name of ['alice', 'bob']) users.set(name, await hasher.hash(password));

const guard = lw.requireJwt();
const pipeline = createHttpPipeline({
  ...lw.httpOptions,
  routes: [
    { path: '/me', guard },
    { path: '/audit', guard },
    { path: '/auth/logout-all', guard },
    { path: '/auth/sessions/*', guard },
  ],
});

type Json = Record<string, unknown>;

function send(res: ServerResponse, status: number, body: unknown, headers: Json = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

class BadRequest extends Error {}

async function readJson(req: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16_384) throw new BadRequest('body larger than 16 KiB');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Json;
  } catch {}
  throw new BadRequest('a JSON object was expected');
}

function pairBody(pair: { accessToken: string; expiresIn: number; refreshToken: string }): Json {
  return {
    access_token: pair.accessToken,
    token_type: 'Bearer',
    expires_in: pair.expiresIn,
    refresh_token: pair.refreshToken,
  };
}

function userAgent(req: IncomingMessage): string | undefined {
  return req.headers['user-agent'];
}

async function route(req: IncomingMessage, res: ServerResponse, context: LockWatchContext) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = context.path;
  const method = req.method ?? 'GET';
  const principal = context.principal;
  const user = principal?.userId;

  if (method === 'GET' && path === '/health') {
    return send(res, 200, { status: 'ok', stores: lw.backends });
  }
  if (method === 'GET' && path === '/api/hello') {
    return send(res, 200, {
      hello: 'world',
      remaining: context.decision?.remaining ?? null,
      anomalies: context.anomalies,
    });
  }
  if (method === 'POST' && path === '/auth/login') {
    const body = await readJson(req);
    const { username, password: given } = body;
    if (typeof username !== 'string' || typeof given !== 'string' || username.length > 128) {
      throw new BadRequest('{"username","password"} strings were expected');
    }
    const attempt = await lw.login.attempt({
      ip: context.ip,
      account: username,
      endpoint: path,
      method,
      userAgent: userAgent(req),
    });
    if (!attempt.allowed) {
      const reply = attempt.reply!;
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
      return;
    }
    const name = username.trim().toLowerCase();
    if (!(await hasher.verify(given, users.get(name)))) {
      await attempt.failed();
      return send(res, 401, {
        error: 'invalid_credentials',
        message: 'The credentials are invalid.',
      });
    }
    await attempt.succeeded();
    const pair = await sessions.issue(name, { ip: context.ip, userAgent: userAgent(req) });
    return send(res, 200, pairBody(pair), { 'Set-Cookie': lw.cookies.set(pair) });
  }
  if (method === 'POST' && path === '/auth/refresh') {
    const token = lw.cookies.read(req.headers, await readJson(req));
    if (token === undefined)
      throw new BadRequest('a refresh token (cookie or "refresh_token") was expected');
    const pair = await sessions.refresh(token, { ip: context.ip });
    return send(res, 200, pairBody(pair), { 'Set-Cookie': lw.cookies.set(pair) });
  }
  if (method === 'POST' && path === '/auth/logout') {
    const token = lw.cookies.read(req.headers, await readJson(req));
    if (token === undefined)
      throw new BadRequest('a refresh token (cookie or "refresh_token") was expected');
    const ended = await sessions.logout(token);
    return send(res, 200, { logged_out: ended }, { 'Set-Cookie': lw.cookies.clear() });
  }
  if (method === 'POST' && path === '/auth/logout-all' && user !== undefined) {
    const revoked = await sessions.logoutAll(user);
    return send(res, 200, { revoked_sessions: revoked }, { 'Set-Cookie': lw.cookies.clear() });
  }
  if (method === 'GET' && path === '/auth/sessions' && user !== undefined) {
    const list = await sessions.listSessions(user, { currentSessionId: principal?.sessionId });
    return send(res, 200, { sessions: list });
  }
  if (method === 'POST' && path === '/auth/sessions/revoke-others' && user !== undefined) {
    const revoked = await sessions.revokeOtherSessions(user, principal!.sessionId!);
    return send(res, 200, { revoked_sessions: revoked });
  }
  const session = /^\/auth\/sessions\/([A-Za-z0-9_-]{1,128})$/.exec(path);
  if (method === 'DELETE' && session !== null && user !== undefined) {
    const revoked = await sessions.revokeSession(user, session[1]!);
    return revoked
      ? send(res, 200, { revoked: true })
      : send(res, 404, { error: 'session_not_found', message: 'No such session.' });
  }
  if (method === 'GET' && path === '/me' && principal !== undefined) {
    return send(res, 200, principal.claims);
  }
  if (method === 'GET' && path === '/audit') {
    const reader = lw.auditReader!;
    const limit = url.searchParams.get('limit');
    const page = await reader.query({
      ip: url.searchParams.get('ip') || undefined,
      userId: url.searchParams.get('user') || undefined,
      limit: limit === null || limit === '' ? 20 : Number(limit),
      cursor: url.searchParams.get('cursor') || undefined,
    });
    return send(res, 200, { records: page.records, next_cursor: page.nextCursor ?? null });
  }
  return send(res, 404, { error: 'not_found' });
}

const server = createServer(
  nodeLockWatch(pipeline, (req, res, context) =>
    route(req, res, context).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (isTokenError(error)) {
        return send(res, error.status, { error: error.code, message: error.message });
      }
      if (error instanceof BadRequest || error instanceof InvalidOptionError) {
        return send(res, 400, { error: 'invalid_request', message: error.message });
      }
      console.error('demo: request failed', error);
      send(res, 500, { error: 'internal_error' });
    }),
  ),
);

// The limit refills while a shell loop runs (100 per 60 s is one every 600 ms, and each curl
// takes a few ms to start), so one request past the limit may well be admitted: half as many
// again shows the 429s.
const flood = lw.env.rateLimit + Math.max(20, Math.ceil(lw.env.rateLimit / 2));

server.listen(port, '127.0.0.1', () => {
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const login = (name: string, pw: string, jar = true) =>
    `curl -s${jar ? ' -c lw-cookies.txt' : ''} -X POST ${base}/auth/login -H 'content-type: application/json' -d '{"username":"${name}","password":"${pw}"}'`;
  const bearer = `-H "authorization: Bearer $TOKEN"`;
  const audit =
    lw.backends.audit === 'memory'
      ? 'memory'
      : `${lw.backends.audit} (${lw.env.databaseUrl === undefined ? demoDatabase : 'LOCKWATCH_DATABASE_URL'})`;
  console.log(`LockWatch demo API on ${base}/`);
  console.log(
    `  stores: rate limits ${lw.backends.window}, sessions ${lw.backends.tokens}, audit ${audit}, alerts ${lw.backends.alerts}`,
  );
  console.log(
    `  limits: ${lw.env.rateLimit} requests per ${lw.env.rateWindowMs / 1000} s per IP; burst alert above ${lw.env.burstThreshold} in ${lw.env.burstWindowMs / 1000} s`,
  );
  console.log(`  demo users: alice, bob; password: ${password}`);
  console.log('');
  console.log('Try it:');
  const lines = [
    '# health (never rate limited)',
    `curl -s ${base}/health`,
    '# a rate-limited route: see the X-RateLimit-* headers (a 429 adds RateLimit-Policy and RateLimit)',
    `curl -s -i ${base}/api/hello`,
    '# a protected route without a token: 401 with WWW-Authenticate',
    `curl -s -i ${base}/me`,
    '# a wrong password: 401 invalid_credentials',
    login('alice', 'wrong', false),
    '# log in: an access token, and the refresh token in an httpOnly cookie (and the body)',
    login('alice', password),
    '# put the access_token of that answer in TOKEN (export TOKEN=eyJ...), and its refresh_token in REFRESH',
    `curl -s ${base}/me ${bearer}`,
    `curl -s ${base}/auth/sessions ${bearer}`,
    `curl -s "${base}/audit?limit=5" ${bearer}`,
    '# rotate the refresh token (cookie)',
    `curl -s -b lw-cookies.txt -c lw-cookies.txt -X POST ${base}/auth/refresh`,
    '# present the old one again: 401 refresh_reused, and the session is ended',
    `curl -s -X POST ${base}/auth/refresh -H 'content-type: application/json' -d "{\\"refresh_token\\":\\"$REFRESH\\"}"`,
    `curl -s ${base}/me ${bearer}`,
    '# log in again (put the new access_token in TOKEN), then end sessions',
    login('alice', password),
    `curl -s -X POST ${base}/auth/sessions/revoke-others ${bearer}`,
    '# SESSION: an "id" from GET /auth/sessions',
    `curl -s -X DELETE ${base}/auth/sessions/$SESSION ${bearer}`,
    `curl -s -b lw-cookies.txt -X POST ${base}/auth/logout`,
    login('bob', password),
    "# with bob's access_token in TOKEN: log out on every device",
    `curl -s -X POST ${base}/auth/logout-all ${bearer}`,
    `# ${flood} requests: those past the limit get 429 with Retry-After`,
    `for i in $(seq 1 ${flood}); do curl -s -o /dev/null -w '%{http_code}\\n' ${base}/api/hello; done | sort | uniq -c`,
  ];
  for (const line of lines) console.log(`  ${line}`);
  console.log('');
});

// Requests in flight get this long to finish; then their connections are closed.
const graceMs = 2000;

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping`);
  // A last resort only: the grace period plus lw.close()'s own bound (10 s: the audit flush and the
  // alert drain run together) stay well under it.
  setTimeout(() => {
    console.error('demo: shutdown did not finish in 15 s');
    process.exit(1);
  }, 15_000).unref();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // A client that never finishes its request (a stalled body) must not hold the shutdown.
  const grace = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(grace);
  await lw.close();
  const stats = lw.audit?.stats;
  if (stats !== undefined) {
    console.log(`audit flushed: ${stats.written} records written, ${stats.droppedTotal} dropped`);
  }
  console.log('stopped');
};
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
