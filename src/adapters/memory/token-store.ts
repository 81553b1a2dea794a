import { integerOption } from '../../domain/config/validate.ts';
import { StoreUnavailableError } from '../../domain/failure/errors.ts';
import { StoreClosedError } from '../../domain/ratelimit/errors.ts';
import {
  isLive,
  newestFirst,
  publicRecord,
  rotationStep,
  type StoredSession,
} from '../../domain/tokens/rotation.ts';
import {
  validateSessionRecord,
  validateStoreId,
  validateTime,
} from '../../domain/tokens/store-arguments.ts';
import type { CallOptions } from '../../ports/call-options.ts';
import type { TokenStore } from '../../ports/token-store.ts';

/** Options of {@link createMemoryTokenStore}. */
export interface MemoryTokenStoreOptions {
  /**
   * Most entries (sessions, deny-list entries, used single-use ids) held at
   * once: 1 to 100,000,000; 1,000,000 by default. When full, expired entries
   * are purged; if none are, writes fail with `store_unavailable` rather than
   * forget a revocation.
   */
  readonly maxEntries?: number | undefined;
  /** Users the incremental sweep inspects per write: 1 to 1,000; 2 by default. */
  readonly sweepBatch?: number | undefined;
}

/** A {@link TokenStore} in this process's memory. */
export interface MemoryTokenStore extends TokenStore {
  /** Entries held now (expired ones not yet swept included). */
  readonly size: number;
}

interface UserEntry {
  readonly sessions: Map<string, StoredSession>;
  /** jti → expiry */
  readonly denied: Map<string, number>;
  /** single-use id → expiry */
  readonly consumed: Map<string, number>;
  cutoff?: number | undefined;
  cutoffExpiresAt: number;
}

/**
 * Creates an in-memory token store: everything of a user lives in one map
 * entry, so a revocation check is one map lookup and three small ones. No
 * timers: expired entries are ignored when read and removed by a sweep that
 * inspects a few users on every write (and by `purgeExpired`).
 */
export function createMemoryTokenStore(options: MemoryTokenStoreOptions = {}): MemoryTokenStore {
  const maxEntries = integerOption('maxEntries', options.maxEntries ?? 1_000_000, 1, 100_000_000);
  const sweepBatch = integerOption('sweepBatch', options.sweepBatch ?? 2, 1, 1000);
  const users = new Map<string, UserEntry>();
  let cursor: MapIterator<[string, UserEntry]> = users.entries();
  let size = 0;
  let closed = false;

  const open = (options: CallOptions | undefined) => {
    if (closed) throw new StoreClosedError('memory token store');
    options?.signal?.throwIfAborted();
  };

  const userOf = (userId: string): UserEntry => {
    let entry = users.get(userId);
    if (entry === undefined) {
      entry = { sessions: new Map(), denied: new Map(), consumed: new Map(), cutoffExpiresAt: 0 };
      users.set(userId, entry);
    }
    return entry;
  };

  /** The user's cut-off if it is still in force at `now`. */
  const cutoffAt = (entry: UserEntry | undefined, now: number): number | undefined =>
    entry?.cutoff !== undefined && entry.cutoffExpiresAt > now ? entry.cutoff : undefined;

  /** Drops what expired in one user's entry; returns how many entries went. */
  const clean = (userId: string, entry: UserEntry, now: number): number => {
    let removed = 0;
    for (const [id, session] of entry.sessions) {
      if (session.expiresAt <= now) {
        entry.sessions.delete(id);
        removed++;
      }
    }
    for (const map of [entry.denied, entry.consumed]) {
      for (const [id, expiresAt] of map) {
        if (expiresAt <= now) {
          map.delete(id);
          removed++;
        }
      }
    }
    if (entry.cutoff !== undefined && entry.cutoffExpiresAt <= now) entry.cutoff = undefined;
    if (
      entry.sessions.size + entry.denied.size + entry.consumed.size === 0 &&
      entry.cutoff === undefined
    ) {
      users.delete(userId);
    }
    size -= removed;
    return removed;
  };

  const sweep = (now: number) => {
    for (let i = 0; i < sweepBatch; i++) {
      let item = cursor.next();
      if (item.done) {
        cursor = users.entries();
        item = cursor.next();
        if (item.done) return;
      }
      clean(item.value[0], item.value[1], now);
    }
  };

  const purge = (now: number): number => {
    let removed = 0;
    for (const [userId, entry] of users) removed += clean(userId, entry, now);
    return removed;
  };

  /** Makes room for one more entry or throws. */
  const reserve = (now: number) => {
    sweep(now);
    if (size < maxEntries) return;
    purge(now);
    if (size >= maxEntries) {
      throw new StoreUnavailableError(
        `memory token store is full (${maxEntries} entries); raise maxEntries or use another store`,
      );
    }
  };

  const store: MemoryTokenStore = {
    inProcess: true,
    get size() {
      return size;
    },

    async createSession(session, options) {
      open(options);
      validateSessionRecord(session);
      reserve(session.createdAt);
      const entry = userOf(session.userId);
      if (!entry.sessions.has(session.id)) size++;
      entry.sessions.set(session.id, { ...session });
    },

    async rotateRefresh(request, options) {
      open(options);
      validateStoreId('userId', request.userId);
      validateStoreId('sessionId', request.sessionId);
      const entry = users.get(request.userId);
      const step = rotationStep(
        entry?.sessions.get(request.sessionId),
        request,
        cutoffAt(entry, request.now),
      );
      if (step.write === 'replace') entry!.sessions.set(request.sessionId, step.record);
      else if (step.write === 'delete') {
        entry!.sessions.delete(request.sessionId);
        size--;
      }
      const { outcome } = step;
      if (outcome.kind === 'rotated' || outcome.kind === 'grace') {
        return { kind: outcome.kind, session: publicRecord(outcome.session) };
      }
      return outcome;
    },

    async getSession(userId, sessionId, now, options) {
      open(options);
      const entry = users.get(userId);
      const record = entry?.sessions.get(sessionId);
      return isLive(record, now, cutoffAt(entry, now)) ? publicRecord(record) : undefined;
    },

    async listSessions(userId, now, options) {
      open(options);
      const entry = users.get(userId);
      if (entry === undefined) return [];
      const cutoff = cutoffAt(entry, now);
      const live: StoredSession[] = [];
      for (const record of entry.sessions.values()) {
        if (isLive(record, now, cutoff)) live.push(record);
      }
      return live.sort(newestFirst).map(publicRecord);
    },

    async revokeSession(userId, sessionId, now, options) {
      open(options);
      const entry = users.get(userId);
      const record = entry?.sessions.get(sessionId);
      if (record === undefined) return false;
      // Logged out by the cut-off counts as ended already: removed, but not live.
      const live = isLive(record, now, cutoffAt(entry, now));
      // A tombstone stays until it expires: later presentations of its family must still say `reused`.
      if (record.reusedAt === undefined || record.expiresAt <= now) {
        entry!.sessions.delete(sessionId);
        size--;
      }
      return live;
    },

    async revokeUserSessions(userId, keepSessionId, now, options) {
      open(options);
      const entry = users.get(userId);
      if (entry === undefined) return 0;
      const cutoff = cutoffAt(entry, now);
      let count = 0;
      for (const [id, record] of entry.sessions) {
        if (id === keepSessionId || record.reusedAt !== undefined) continue;
        if (isLive(record, now, cutoff)) count++;
        entry.sessions.delete(id);
        size--;
      }
      return count;
    },

    async denyJti(userId, jti, expiresAt, now, options) {
      open(options);
      validateStoreId('userId', userId);
      validateStoreId('jti', jti);
      validateTime('expiresAt', expiresAt);
      if (expiresAt <= now) return;
      // Reserve before taking the user's entry: the sweep may drop an empty entry.
      const known = users.get(userId)?.denied.get(jti);
      if (known === undefined) {
        reserve(now);
        size++;
      }
      userOf(userId).denied.set(jti, Math.max(known ?? 0, expiresAt));
    },

    async setUserCutoff(userId, at, expiresAt, now, options) {
      open(options);
      validateStoreId('userId', userId);
      validateTime('at', at);
      validateTime('expiresAt', expiresAt);
      const entry = userOf(userId);
      const current = cutoffAt(entry, now);
      entry.cutoff = Math.max(current ?? at, at);
      entry.cutoffExpiresAt = Math.max(
        current === undefined ? 0 : entry.cutoffExpiresAt,
        expiresAt,
      );
    },

    async revocationState(query, options) {
      options?.signal?.throwIfAborted();
      return store.revocationStateSync!(query);
    },

    revocationStateSync(query) {
      if (closed) throw new StoreClosedError('memory token store');
      const { now } = query;
      const entry = users.get(query.userId);
      if (entry === undefined) {
        return { jtiRevoked: false, sessionRevoked: query.sessionId !== undefined };
      }
      const denied = entry.denied.get(query.jti);
      const userCutoff = cutoffAt(entry, now);
      let sessionRevoked = false;
      if (query.sessionId !== undefined) {
        const session = entry.sessions.get(query.sessionId);
        sessionRevoked = !isLive(session, now, userCutoff);
      }
      return { jtiRevoked: denied !== undefined && denied > now, sessionRevoked, userCutoff };
    },

    async consumeOnce(userId, id, expiresAt, now, options) {
      open(options);
      validateStoreId('userId', userId);
      validateStoreId('id', id);
      validateTime('expiresAt', expiresAt);
      const known = users.get(userId)?.consumed.get(id);
      if (known !== undefined && known > now) return false;
      if (known === undefined) {
        reserve(now);
        size++;
      }
      userOf(userId).consumed.set(id, expiresAt);
      return true;
    },

    async purgeExpired(now, options) {
      open(options);
      return purge(now);
    },

    async close() {
      closed = true;
      users.clear();
      size = 0;
    },
  };
  return store;
}
