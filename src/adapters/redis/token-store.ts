import { InvalidOptionError } from '../../domain/config/errors.ts';
import { integerOption } from '../../domain/config/validate.ts';
import { StoreClosedError } from '../../domain/ratelimit/errors.ts';
import {
  validateSessionRecord,
  validateStoreId,
  validateTime,
} from '../../domain/tokens/store-arguments.ts';
import type { CallOptions } from '../../ports/call-options.ts';
import type { SessionRecord, TokenStore } from '../../ports/token-store.ts';
import { connect, type RedisConnectionOptions, release } from './client.ts';
import { toStoreError } from './errors.ts';
import { keyPrefixOption, subjectTag } from './keys.ts';
import { abortable, defineScript, type LuaScript, type RedisClient, runScript } from './script.ts';
import {
  consumeLua,
  createSessionLua,
  cutoffLua,
  denyLua,
  getSessionLua,
  listLua,
  revocationLua,
  revokeSessionLua,
  revokeUserLua,
  rotateLua,
} from './scripts/tokens.ts';

/** Options of {@link createRedisTokenStore}. */
export interface RedisTokenStoreOptions extends RedisConnectionOptions {
  /** Key prefix: 1 to 64 characters from `A-Z a-z 0-9 . _ : -`; `lwt` by default. */
  readonly prefix?: string | undefined;
  /**
   * How far app-server clocks may run apart, ms (0 to 366 days; 60,000 by
   * default): keys live this much past their logical expiry, so a server
   * whose clock lags never sees an entry vanish before it expired for it.
   */
  readonly clockSkewMs?: number | undefined;
}

/** A {@link TokenStore} on a single Redis or a Redis Cluster. */
export interface RedisTokenStore extends TokenStore {
  /** The key prefix in use. */
  readonly prefix: string;
}

const scripts = {
  create: defineScript(createSessionLua),
  rotate: defineScript(rotateLua),
  get: defineScript(getSessionLua),
  revocation: defineScript(revocationLua),
  list: defineScript(listLua),
  revokeSession: defineScript(revokeSessionLua),
  revokeUser: defineScript(revokeUserLua),
  deny: defineScript(denyLua),
  cutoff: defineScript(cutoffLua),
  consume: defineScript(consumeLua),
};

/**
 * Creates a token store on Redis. Every method is one round trip: one
 * EVALSHA, atomic, on keys that all carry the user's hash tag — so on a
 * Cluster a rotation, a revocation check, revoking a user's sessions and
 * setting the user's cut-off each run in one slot. Times are the caller's clock (the
 * session manager's), the same one that stamps the tokens. Failures reject
 * with `store_unavailable`; the session manager's failure policy decides
 * what a request sees then.
 */
export function createRedisTokenStore(options: RedisTokenStoreOptions = {}): RedisTokenStore {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object');
  }
  const prefix = keyPrefixOption(options.prefix ?? 'lwt');
  const skew = String(
    integerOption('clockSkewMs', options.clockSkewMs ?? 60_000, 0, 366 * 86_400_000),
  );
  const connected = connect(options);
  const client: RedisClient = connected.client;
  let closed = false;

  /** `<prefix>:{<tag>}:` — every key of the user starts with it. */
  const base = (userId: string) => `${prefix}:{${subjectTag(userId)}}:`;

  const start = (options: CallOptions | undefined) => {
    if (closed) throw new StoreClosedError('redis token store');
    const signal = options?.signal;
    if (signal?.aborted) throw signal.reason;
  };

  const run = async (
    script: LuaScript,
    keys: string[],
    args: string[],
    options: CallOptions | undefined,
  ): Promise<unknown> => {
    start(options);
    const signal = options?.signal;
    try {
      const reply = runScript(client, script, keys, args);
      return await (signal === undefined ? reply : abortable(reply, signal));
    } catch (error) {
      throw toStoreError(error, signal);
    }
  };

  const store: RedisTokenStore = {
    prefix,

    async createSession(session, options) {
      validateSessionRecord(session);
      const b = base(session.userId);
      const fields = [
        'u',
        session.userId,
        'f',
        session.familyHash,
        'h',
        session.refreshHash,
        'g',
        String(session.generation),
        'c',
        String(session.createdAt),
        'l',
        String(session.lastUsedAt),
        'e',
        String(session.expiresAt),
      ];
      const optional: [string, string | number | undefined][] = [
        ['ph', session.previousHash],
        ['ra', session.rotatedAt],
        ['ip', session.ip],
        ['ua', session.userAgent],
        ['lip', session.lastIp],
        ['d', session.data],
      ];
      for (const [name, value] of optional)
        if (value !== undefined) fields.push(name, String(value));
      await run(
        scripts.create,
        [`${b}s:${session.id}`, `${b}ss`],
        [
          session.id,
          String(session.createdAt),
          String(session.expiresAt),
          String(session.createdAt),
          skew,
          ...fields,
        ],
        options,
      );
    },

    async rotateRefresh(request, options) {
      validateStoreId('userId', request.userId);
      validateStoreId('sessionId', request.sessionId);
      validateTime('now', request.now);
      const b = base(request.userId);
      const reply = (await run(
        scripts.rotate,
        [`${b}s:${request.sessionId}`, `${b}ss`, `${b}cut`],
        [
          request.sessionId,
          request.familyHash,
          request.presentedHash,
          request.nextHash,
          String(request.now),
          String(request.expiresAt),
          String(request.maxLifetimeMs),
          String(request.graceMs),
          request.ip ?? '',
          skew,
        ],
        options,
      )) as string[];
      const kind = reply[0];
      if (kind === 'not_found') return { kind };
      if (kind === 'reused') {
        return { kind, sessionId: request.sessionId, userId: request.userId };
      }
      const session = recordOf(reply.slice(1), request.sessionId);
      return { kind: kind === 'grace' ? 'grace' : 'rotated', session };
    },

    async getSession(userId, sessionId, now, options) {
      validateStoreId('userId', userId);
      validateStoreId('sessionId', sessionId);
      const b = base(userId);
      // A script, not an HGETALL: liveness needs the user's cut-off, read in the same atomic step.
      const reply = (await run(
        scripts.get,
        [`${b}s:${sessionId}`, `${b}cut`],
        [String(now)],
        options,
      )) as string[];
      return reply.length === 0 ? undefined : recordOf(reply, sessionId);
    },

    async listSessions(userId, now, options) {
      validateStoreId('userId', userId);
      const b = base(userId);
      const reply = (await run(
        scripts.list,
        [`${b}ss`, `${b}cut`],
        [`${b}s:`, String(now)],
        options,
      )) as string[][];
      return reply.map((flat) => {
        const id = flat[flat.length - 1]!;
        return recordOf(flat.slice(0, -2), id);
      });
    },

    async revokeSession(userId, sessionId, now, options) {
      validateStoreId('userId', userId);
      validateStoreId('sessionId', sessionId);
      const b = base(userId);
      const reply = await run(
        scripts.revokeSession,
        [`${b}s:${sessionId}`, `${b}ss`, `${b}cut`],
        [sessionId, String(now)],
        options,
      );
      return reply === 1;
    },

    async revokeUserSessions(userId, keepSessionId, now, options) {
      validateStoreId('userId', userId);
      const b = base(userId);
      return (await run(
        scripts.revokeUser,
        [`${b}ss`, `${b}cut`],
        [`${b}s:`, keepSessionId ?? '', String(now)],
        options,
      )) as number;
    },

    async denyJti(userId, jti, expiresAt, now, options) {
      validateStoreId('userId', userId);
      validateStoreId('jti', jti);
      validateTime('expiresAt', expiresAt);
      if (expiresAt <= now) return;
      await run(
        scripts.deny,
        [`${base(userId)}j:${jti}`],
        [String(expiresAt), String(now), skew],
        options,
      );
    },

    async setUserCutoff(userId, at, expiresAt, now, options) {
      validateStoreId('userId', userId);
      validateTime('at', at);
      validateTime('expiresAt', expiresAt);
      await run(
        scripts.cutoff,
        [`${base(userId)}cut`],
        [String(at), String(expiresAt), String(now), skew],
        options,
      );
    },

    async revocationState(query, options) {
      validateStoreId('userId', query.userId);
      validateStoreId('jti', query.jti);
      const b = base(query.userId);
      const reply = (await run(
        scripts.revocation,
        [`${b}j:${query.jti}`, `${b}s:${query.sessionId ?? ''}`, `${b}cut`],
        [String(query.now), query.sessionId === undefined ? '0' : '1'],
        options,
      )) as [number, number, string];
      return {
        jtiRevoked: reply[0] === 1,
        sessionRevoked: reply[1] === 1,
        userCutoff: reply[2] === '' ? undefined : Number(reply[2]),
      };
    },

    async consumeOnce(userId, id, expiresAt, now, options) {
      validateStoreId('userId', userId);
      validateStoreId('id', id);
      validateTime('expiresAt', expiresAt);
      const reply = await run(
        scripts.consume,
        [`${base(userId)}o:${id}`],
        [String(expiresAt), String(now), skew],
        options,
      );
      return reply === 1;
    },

    async purgeExpired(_now, options) {
      start(options);
      // Redis expires every key by itself.
      return 0;
    },

    async close() {
      if (closed) return;
      closed = true;
      await release(connected);
    },
  };
  return store;
}

/** A session from an HGETALL reply given as a flat field/value list. */
function recordOf(flat: readonly string[], id: string): SessionRecord {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
  return recordFromHash(hash, id);
}

function recordFromHash(hash: Record<string, string>, id: string): SessionRecord {
  const optionalNumber = (value: string | undefined) =>
    value === undefined ? undefined : Number(value);
  return {
    id,
    userId: hash.u!,
    familyHash: hash.f!,
    refreshHash: hash.h!,
    previousHash: hash.ph,
    rotatedAt: optionalNumber(hash.ra),
    generation: Number(hash.g),
    createdAt: Number(hash.c),
    lastUsedAt: Number(hash.l),
    expiresAt: Number(hash.e),
    ip: hash.ip,
    userAgent: hash.ua,
    lastIp: hash.lip,
    data: hash.d,
  };
}
