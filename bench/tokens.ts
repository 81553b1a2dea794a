/**
 * Token benchmarks, each a side-by-side comparison in one run:
 *
 * 1. Access-token verification: LockWatch `verify` (strict checks and the
 *    memory store's revocation lookup included) against bare
 *    `jose.jwtVerify` with a pre-imported key, and against jose importing
 *    the key on every call (the seed's behaviour) — for ES256, EdDSA, RS256
 *    and HS256, at 1 and at 8 verifications in flight.
 * 2. Refresh rotations per second on the memory store, Redis, a SQLite file
 *    and PostgreSQL.
 *
 * Run: node bench/tokens.ts [verify] [refresh]
 *      (Redis at REDIS_URL or redis://127.0.0.1:6379; a scratch PostgreSQL
 *      database on LOCKWATCH_TEST_POSTGRES_URL's server or postgresql://postgres@127.0.0.1:5432/test)
 */
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importJWK, importSPKI, type JWK, jwtVerify } from 'jose';
import { createMemoryTokenStore } from '../src/adapters/memory/token-store.ts';
import { generateSigningKey, type TokenAlgorithm } from '../src/domain/tokens/keys.ts';
import type { SessionManager } from '../src/domain/tokens/types.ts';
import type { TokenStore } from '../src/ports/token-store.ts';
import { createSessionManager } from '../src/sessions.ts';
import { type Candidate, type Comparison, compare, toMarkdown } from './lib/compare.ts';

const issuer = 'https://auth.bench';
const audience = 'api';
const secret = 'bench-master-secret-0123456789-abcdefghijkl';
const tokensPerAlg = 1000;

async function verifyComparisons(alg: TokenAlgorithm): Promise<Comparison[]> {
  const key = await generateSigningKey(alg);
  const store = createMemoryTokenStore();
  const manager = await createSessionManager({ issuer, audience, keys: [key], store, secret });
  const tokens: string[] = [];
  for (let i = 0; i < tokensPerAlg; i++) {
    tokens.push(
      (await manager.issue(`user-${i}`, { scope: 'read write', roles: ['member'] })).accessToken,
    );
  }
  const token = (i: number) => tokens[i % tokensPerAlg]!;
  const options = { issuer, audience, algorithms: [alg], typ: 'at+jwt' };
  const verifyKey =
    alg === 'HS256'
      ? await importJWK({ kty: 'oct', k: Buffer.from(key.secret!).toString('base64url') }, alg)
      : await importJWK(key.publicKey as JWK, alg);
  // Per-call import as the seed did it: PEM text for asymmetric keys, the raw secret bytes for HMAC.
  const pem =
    alg === 'HS256'
      ? undefined
      : createPublicKey({ key: key.publicKey as never, format: 'jwk' })
          .export({ type: 'spki', format: 'pem' })
          .toString();
  const secretBytes = alg === 'HS256' ? new TextEncoder().encode(key.secret!) : undefined;
  const out: Comparison[] = [];
  for (const concurrency of [1, 8]) {
    const bare = `jose.jwtVerify, key imported once`;
    const candidates: Candidate[] = [
      { name: bare, concurrency, run: (i) => jwtVerify(token(i), verifyKey, options) },
      {
        name: 'LockWatch verify (memory revocation check)',
        concurrency,
        run: (i) => manager.verify(token(i)),
      },
      {
        name:
          alg === 'HS256'
            ? 'jose.jwtVerify, secret bytes imported per call'
            : 'jose.jwtVerify, PEM imported per call (seed)',
        concurrency,
        run: async (i) =>
          jwtVerify(
            token(i),
            pem === undefined ? secretBytes! : await importSPKI(pem, alg),
            options,
          ),
      },
    ];
    out.push(
      await compare(`Verify ${alg}, ${concurrency} in flight`, candidates, {
        baseline: bare,
        // Many short interleaved rounds: the load of other processes here changes within a second.
        rounds: 41,
        roundMs: 60,
      }),
    );
  }
  await manager.close();
  await store.close();
  return out;
}

/** Rotations per second on `store`: `lanes` sessions refreshed over and over, one refresh in flight per lane. */
function rotationCandidate(name: string, manager: SessionManager, lanes: string[]): Candidate {
  return {
    name,
    concurrency: lanes.length,
    run: async (i) => {
      const lane = i % lanes.length;
      lanes[lane] = (await manager.refresh(lanes[lane]!)).refreshToken;
    },
  };
}

async function refreshComparison(): Promise<Comparison> {
  const key = await generateSigningKey('ES256');
  const lanes = 8;
  const candidates: Candidate[] = [];
  const closers: (() => Promise<void>)[] = [];
  const add = async (
    name: string,
    store: TokenStore,
    release: () => Promise<void> = async () => {},
  ) => {
    const manager = await createSessionManager({
      issuer,
      audience,
      keys: [key],
      store,
      secret,
      failure: { timeoutMs: 5000 },
    });
    const tokens: string[] = [];
    for (let i = 0; i < lanes; i++)
      tokens.push((await manager.issue(`rot-${process.pid}-${i}`)).refreshToken);
    candidates.push(rotationCandidate(name, manager, tokens));
    closers.push(async () => {
      await manager.close();
      await store.close();
      await release();
    });
  };
  await add('memory', createMemoryTokenStore());
  const { createRedisTokenStore } = await import('../src/adapters/redis/token-store.ts');
  await add(
    'Redis (localhost)',
    createRedisTokenStore({
      url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      prefix: `lwbench:${process.pid}`,
    }),
  );
  const { openSqlDatabase } = await import('../src/adapters/sql/database.ts');
  const { createSqlTokenStore } = await import('../src/adapters/sql/token-store.ts');
  const dir = mkdtempSync(join(tmpdir(), 'lockwatch-bench-tokens-'));
  const sqlite = await openSqlDatabase({ url: `sqlite:${join(dir, 'tokens.db')}` });
  await add('SQLite file', createSqlTokenStore(sqlite), async () => {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const postgres = await scratchPostgres();
  await add('PostgreSQL 15 (localhost)', createSqlTokenStore(postgres.db), postgres.release);
  try {
    return await compare(
      `Refresh rotations, ${lanes} sessions rotating at once (ES256 access tokens)`,
      candidates,
      { baseline: 'memory', rounds: 15, roundMs: 200 },
    );
  } finally {
    for (const close of closers) await close();
  }
}

/** A migrated scratch database on LOCKWATCH_TEST_POSTGRES_URL's server, dropped on release. */
async function scratchPostgres() {
  const { openSqlDatabase } = await import('../src/adapters/sql/database.ts');
  const { MikroORM } = await import('@mikro-orm/postgresql');
  const base = new URL(
    process.env.LOCKWATCH_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test',
  );
  const scratch = `lockwatch_bench_tokens_${process.pid}`;
  const admin = await MikroORM.init({
    clientUrl: base.href,
    entities: [],
    discovery: { warnWhenNoEntities: false },
  });
  await admin.em.getConnection().execute(`create database ${scratch}`);
  const target = new URL(base.href);
  target.pathname = `/${scratch}`;
  const db = await openSqlDatabase({ url: target.href, migrate: 'auto', poolSize: 8 });
  return {
    db,
    async release() {
      await db.close();
      await admin.em.getConnection().execute(`drop database if exists ${scratch} with (force)`);
      await admin.close();
    },
  };
}

const wanted = process.argv.slice(2);
const all = wanted.length === 0;
if (all || wanted.includes('verify')) {
  for (const alg of ['ES256', 'EdDSA', 'RS256', 'HS256'] as const) {
    for (const comparison of await verifyComparisons(alg))
      console.log(`${toMarkdown(comparison)}\n`);
  }
}
if (all || wanted.includes('refresh')) {
  console.log(`${toMarkdown(await refreshComparison())}\n`);
}
