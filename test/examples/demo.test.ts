/**
 * `npm start` (examples/demo.ts): starts it as a user would, in a fresh
 * directory, runs every curl command it prints — as printed, through a small
 * interpreter of the curl options used (-s -i -o -w -X -H -d -b -c) on
 * undici — and stops it with SIGTERM: exit 0, the audit log flushed to the
 * SQLite file under ./data/ with one record per request. Then the cases a
 * user meets: a fresh PostgreSQL database, a client stalled mid-request or a
 * webhook receiver that never answers at shutdown, and the printed 429 loop
 * run on its own by bash and curl (when curl is installed).
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { createSqlAuditReader, openSqlDatabase } from '../../src/adapters/sql/index.ts';
import { postgresAvailable } from '../adapters/sql/harness.ts';
import { startReceiver } from '../adapters/webhook/receiver.ts';
import { createTempDatabase, postgresService } from '../support/postgres.ts';

const demo = fileURLToPath(new URL('../../examples/demo.ts', import.meta.url));

/** Splits a shell command line into words: single quotes, double quotes (with \" and $VAR), plain words. */
function words(line: string, vars: Record<string, string>): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ') i++;
    if (i >= line.length) break;
    let word = '';
    while (i < line.length && line[i] !== ' ') {
      const c = line[i]!;
      if (c === "'") {
        const end = line.indexOf("'", i + 1);
        word += line.slice(i + 1, end);
        i = end + 1;
      } else if (c === '"') {
        i++;
        while (line[i] !== '"') {
          if (line[i] === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) {
            word += line[i + 1];
            i += 2;
          } else if (line[i] === '$') {
            const name = /^\$([A-Z_]+)/.exec(line.slice(i))![1]!;
            word += vars[name] ?? '';
            i += name.length + 1;
          } else word += line[i++];
        }
        i++;
      } else if (c === '$') {
        const name = /^\$([A-Z_]+)/.exec(line.slice(i))![1]!;
        word += vars[name] ?? '';
        i += name.length + 1;
      } else word += line[i++];
    }
    out.push(word);
  }
  return out;
}

interface CurlResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  // biome-ignore lint/suspicious/noExplicitAny: answers are inspected field by field
  readonly json: any;
}

/** Runs one `curl ...` command line with undici; cookie jars are kept in `jars`. */
async function curl(
  line: string,
  vars: Record<string, string>,
  jars: Map<string, Map<string, string>>,
): Promise<CurlResult> {
  const args = words(line, vars);
  expect(args[0]).toBe('curl');
  let method: string | undefined;
  let data: string | undefined;
  let url: string | undefined;
  let sendJar: string | undefined;
  let saveJar: string | undefined;
  const headers: Record<string, string> = {};
  for (let i = 1; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-s' || arg === '-i') continue;
    if (arg === '-o' || arg === '-w') i++;
    else if (arg === '-X') method = args[++i];
    else if (arg === '-H') {
      const header = args[++i]!;
      const colon = header.indexOf(':');
      headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
    } else if (arg === '-d') data = args[++i];
    else if (arg === '-b') sendJar = args[++i];
    else if (arg === '-c') saveJar = args[++i];
    else if (arg.startsWith('http://')) url = arg;
    else throw new Error(`unexpected curl argument ${arg} in: ${line}`);
  }
  if (sendJar !== undefined) {
    const jar = jars.get(sendJar) ?? new Map();
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    if (cookie !== '') headers.cookie = cookie;
  }
  if (data !== undefined && headers['content-type'] === undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const response = await request(url!, {
    method: (method ?? (data === undefined ? 'GET' : 'POST')) as 'GET',
    headers,
    body: data,
  });
  const body = await response.body.text();
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    flat[name] = Array.isArray(value) ? value.join(', ') : (value ?? '');
  }
  if (saveJar !== undefined) {
    const jar = jars.get(saveJar) ?? new Map<string, string>();
    jars.set(saveJar, jar);
    const set = response.headers['set-cookie'];
    for (const cookie of Array.isArray(set) ? set : set === undefined ? [] : [set]) {
      const [pair, ...attributes] = cookie.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || attributes.some((a) => /^\s*max-age=0$/i.test(a))) jar.delete(name);
      else jar.set(name, value);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {}
  return { status: response.statusCode, headers: flat, body, json };
}

let child: ChildProcess | undefined;
const work = mkdtempSync(join(tmpdir(), 'lockwatch-demo-'));

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** A demo started as `npm start` would, in a fresh directory, with `vars` set; resolves once it printed its commands. */
async function startDemo(vars: Record<string, string> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'lockwatch-demo-'));
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
  for (const name of Object.keys(env)) {
    if (name === 'REDIS_URL' || name === 'JWT_SECRET' || name.startsWith('LOCKWATCH_')) {
      delete env[name];
    }
  }
  const process_ = spawn(process.execPath, [demo], {
    cwd,
    env: { ...env, ...vars },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    process_.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  });
  const started = {
    output: '',
    errors: '',
    exited: once(process_, 'exit') as Promise<[number | null]>,
    base: '',
    process: process_,
  };
  process_.stderr!.on('data', (chunk: Buffer) => {
    started.errors += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    process_.stdout!.on('data', (chunk: Buffer) => {
      started.output += chunk.toString();
      if (/\n\n$/.test(started.output) && started.output.includes('Try it:')) resolve();
    });
    process_.once('exit', (code) =>
      reject(new Error(`exited early with ${code}: ${started.output}${started.errors}`)),
    );
  });
  started.base = /^LockWatch demo API on (http:\/\/127\.0\.0\.1:\d+)\/$/m.exec(started.output)![1]!;
  return started;
}

describe('the demo server (npm start)', { timeout: 60_000 }, () => {
  it('prints its curl commands, answers each as printed, and stops on SIGTERM with the audit flushed', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
    for (const name of Object.keys(env)) {
      if (name === 'REDIS_URL' || name === 'JWT_SECRET' || name.startsWith('LOCKWATCH_')) {
        delete env[name];
      }
    }
    child = spawn(process.execPath, [demo], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    const exited = once(child, 'exit');
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (/\n\n$/.test(output) && output.includes('Try it:')) resolve();
      });
      child!.once('exit', (code) =>
        reject(new Error(`exited early with ${code}: ${output}${errors}`)),
      );
    });
    expect(output).toMatch(/^LockWatch demo API on http:\/\/127\.0\.0\.1:\d+\/$/m);
    expect(output).toContain('audit sqlite');
    expect(output).toMatch(/demo users: alice, bob; password: \S+/);

    const commands = output
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.startsWith('curl ') || line.startsWith('for '));
    const vars: Record<string, string> = {};
    const jars = new Map<string, Map<string, string>>();
    const seen: { command: string; status: number }[] = [];
    let requests = 0;
    const run = async (command: string) => {
      requests++;
      const result = await curl(command, vars, jars);
      seen.push({ command, status: result.status });
      return result;
    };
    let logins = 0;
    let firstRefresh = '';
    for (const command of commands) {
      if (command.startsWith('for ')) {
        const loop = /^for i in \$\(seq 1 (\d+)\); do (curl .*); done \| sort \| uniq -c$/.exec(
          command,
        );
        expect(loop, command).not.toBeNull();
        const statuses: number[] = [];
        let refusal: Awaited<ReturnType<typeof run>> | undefined;
        for (let i = 0; i < Number(loop![1]); i++) {
          const result = await run(loop![2]!);
          statuses.push(result.status);
          if (result.status === 429) refusal ??= result;
        }
        // A refusal carries both header formats.
        expect(refusal?.headers.ratelimit).toMatch(/^"api";r=0;t=\d+$/);
        expect(refusal?.headers['x-ratelimit-remaining']).toBe('0');
        expect(statuses[0]).toBe(200);
        expect(statuses.at(-1)).toBe(429);
        expect(new Set(statuses)).toEqual(new Set([200, 429]));
        continue;
      }
      const result = await run(command);
      const path = new URL(words(command, vars).find((w) => w.startsWith('http://'))!).pathname;
      const step = `${command.includes('-X POST') ? 'POST' : command.includes('-X DELETE') ? 'DELETE' : 'GET'} ${path}`;
      switch (step) {
        case 'GET /health':
          expect(result.status).toBe(200);
          expect(result.json.status).toBe('ok');
          break;
        case 'GET /api/hello':
          expect(result.status).toBe(200);
          expect(result.headers['x-ratelimit-limit']).toBe('100');
          expect(result.headers['x-ratelimit-remaining']).toMatch(/^\d+$/);
          break;
        case 'GET /me':
          if (!command.includes('$TOKEN')) {
            expect(result.status).toBe(401);
            expect(result.headers['www-authenticate']).toBe('Bearer realm="api"');
          } else if (seen.some((s) => s.command.includes('"refresh_token\\":')) && logins === 1) {
            // After the reuse was detected, the session and its access token are gone.
            expect(result.status).toBe(401);
            expect(result.json.error).toBe('token_revoked');
            expect(result.headers['www-authenticate']).toContain('error="invalid_token"');
          } else {
            expect(result.status).toBe(200);
            expect(result.json).toMatchObject({ sub: 'alice', iss: 'lockwatch-demo' });
          }
          break;
        case 'POST /auth/login':
          if (command.includes('"password":"wrong"')) {
            expect(result.status).toBe(401);
            expect(result.json.error).toBe('invalid_credentials');
          } else {
            expect(result.status).toBe(200);
            expect(result.json).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
            expect(result.headers['set-cookie']).toMatch(
              /^lw_refresh=.+; HttpOnly; SameSite=Strict$/,
            );
            expect(result.headers['set-cookie']).toContain('Path=/auth');
            // What the printed instructions say to do with the answer.
            vars.TOKEN = result.json.access_token;
            logins++;
            if (logins === 1) firstRefresh = result.json.refresh_token;
            vars.REFRESH = firstRefresh;
          }
          break;
        case 'GET /auth/sessions': {
          expect(result.status).toBe(200);
          const current = result.json.sessions.find((s: { current: boolean }) => s.current);
          expect(current).toBeDefined();
          break;
        }
        case 'GET /audit':
          expect(result.status).toBe(200);
          // Records reach the database in the background (within 250 ms in the demo).
          expect(Array.isArray(result.json.records)).toBe(true);
          break;
        case 'POST /auth/refresh':
          if (command.includes('$REFRESH')) {
            expect(result.status).toBe(401);
            expect(result.json.error).toBe('refresh_reused');
          } else {
            expect(result.status).toBe(200);
            expect(result.json.access_token).toMatch(/^eyJ/);
          }
          break;
        case 'POST /auth/sessions/revoke-others':
          expect(result.status).toBe(200);
          expect(result.json.revoked_sessions).toBe(0);
          // The next command names a session: pick the current one from the list, as a reader would.
          vars.SESSION = (
            await curl(
              `curl -s ${new URL(/http:\/\/\S+/.exec(command)![0]).origin}/auth/sessions -H "authorization: Bearer $TOKEN"`,
              vars,
              jars,
            )
          ).json.sessions[0].id;
          requests++;
          break;
        case `DELETE /auth/sessions/${vars.SESSION}`:
          expect(result.status).toBe(200);
          expect(result.json).toEqual({ revoked: true });
          break;
        case 'POST /auth/logout':
          expect(result.status).toBe(200);
          expect(result.headers['set-cookie']).toMatch(/^lw_refresh=; Max-Age=0/);
          break;
        case 'POST /auth/logout-all':
          expect(result.status).toBe(200);
          expect(result.json.revoked_sessions).toBe(1);
          break;
        default:
          throw new Error(`a printed command the test does not know: ${command}`);
      }
    }
    // Every route of the issue was tried.
    const tried = new Set(
      seen.map((s) => new URL(/http:\/\/\S+/.exec(s.command)![0].replace(/"$/, '')).pathname),
    );
    for (const path of [
      '/health',
      '/api/hello',
      '/me',
      '/audit',
      '/auth/login',
      '/auth/refresh',
      '/auth/logout',
      '/auth/logout-all',
      '/auth/sessions',
      '/auth/sessions/revoke-others',
    ]) {
      expect(tried, path).toContain(path);
    }

    child.kill('SIGTERM');
    const [code] = await exited;
    child = undefined;
    // The 429 loop is a burst (more than 50 in 10 s): one alert, logged (dedup 60 s).
    const alerts = errors.split('\n').filter((line) => line !== '');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatch(
      /^LockWatch alert burst ip:127\.0\.0\.1 \{.*"request_count_in_window":51/,
    );
    expect(code).toBe(0);
    expect(output).toContain(`audit flushed: ${requests} records written, 0 dropped`);
    const database = await openSqlDatabase({
      url: `sqlite:${join(work, 'data', 'lockwatch-demo.db')}`,
    });
    try {
      const page = await createSqlAuditReader(database).query({ includeTotal: true, limit: 1 });
      expect(page.total).toBe(requests);
      const limited = await createSqlAuditReader(database).query({
        rateLimitHitsOnly: true,
        includeTotal: true,
        limit: 1,
      });
      expect(limited.total).toBeGreaterThan(0);
    } finally {
      await database.close();
    }
  });

  it('runs on a fresh PostgreSQL database: it migrates it itself', async () => {
    const pg = postgresAvailable();
    if (!pg.available) {
      expect(process.env.CI, `PostgreSQL is required in CI${pg.note}`).toBeUndefined();
      return;
    }
    const database = await createTempDatabase(postgresService().url!, 'lw_demo');
    onTestFinished(() => database.drop());
    const demo = await startDemo({ LOCKWATCH_DATABASE_URL: database.url });
    expect(demo.output).toContain('audit postgresql (LOCKWATCH_DATABASE_URL)');
    const hello = await request(`${demo.base}/api/hello`);
    expect(hello.statusCode).toBe(200);
    await hello.body.dump();
    demo.process.kill('SIGTERM');
    const [code] = await demo.exited;
    expect(code, demo.errors).toBe(0);
    expect(demo.output).toContain('audit flushed: 1 records written, 0 dropped');
  });

  it('stops on SIGTERM with a client stalled mid-request: its connection is closed after a grace period', async () => {
    const demo = await startDemo();
    const { port } = new URL(demo.base);
    const socket = connect(Number(port), '127.0.0.1');
    onTestFinished(() => void socket.destroy());
    await once(socket, 'connect');
    // A body that never arrives in full. The 100 Continue says the server has the request and
    // handed it to the handler, which waits for the body.
    socket.write(
      'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n',
    );
    const [answer] = (await once(socket, 'data')) as [Buffer];
    expect(answer.toString()).toMatch(/^HTTP\/1\.1 100 Continue/);
    socket.write('{"user');
    const closed = once(socket, 'close');
    demo.process.kill('SIGTERM');
    const [code] = await demo.exited;
    await closed;
    expect(code, demo.output + demo.errors).toBe(0);
    expect(demo.output).toMatch(/audit flushed: \d+ records written/);
    expect(demo.output).toMatch(/\nstopped\n$/);
  });

  it('stops on SIGTERM with an alert queued for a webhook receiver that never answers', async () => {
    const receiver = await startReceiver(() => 'hang');
    onTestFinished(() => receiver.close());
    const demo = await startDemo({
      LOCKWATCH_WEBHOOK_URLS: receiver.url,
      LOCKWATCH_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 5).toString('base64')}`,
      LOCKWATCH_BURST_THRESHOLD: '1',
    });
    expect(demo.output).toContain('alerts webhook');
    for (let i = 0; i < 3; i++) await (await request(`${demo.base}/api/hello`)).body.dump();
    await receiver.until(1);
    demo.process.kill('SIGTERM');
    const [code] = await demo.exited;
    expect(code, demo.output + demo.errors).toBe(0);
    expect(demo.output).toContain('audit flushed: 3 records written, 0 dropped');
    expect(demo.output).toMatch(/\nstopped\n$/);
  });

  it.runIf(spawnSync('curl', ['--version']).status === 0)(
    'its 429 loop, run on its own in a shell with curl, shows 429s',
    async () => {
      const demo = await startDemo();
      const loop = demo.output
        .split('\n')
        .map((line) => line.trim())
        .find((line) => line.startsWith('for '))!;
      const printed = await new Promise<string>((resolve, reject) => {
        execFile('bash', ['-c', loop], { timeout: 60_000 }, (error, stdout, stderr) =>
          error === null ? resolve(stdout) : reject(new Error(`${error.message}\n${stderr}`)),
        );
      });
      // `uniq -c` lines: "    104 200", "     46 429".
      const counts = Object.fromEntries(
        printed
          .trim()
          .split('\n')
          .map((line) => line.trim().split(/\s+/).reverse()),
      );
      expect(Object.keys(counts).sort(), printed).toEqual(['200', '429']);
      expect(Number(counts['429']), printed).toBeGreaterThan(0);
    },
  );
});
