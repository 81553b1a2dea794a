import { defineEntity, p } from '@mikro-orm/core';

/**
 * A login session (`lockwatch_sessions`), keyed by (user_id, id) so a
 * user's sessions are one primary-key range. Times are integer epoch
 * milliseconds; only hashes of refresh tokens are stored. A session revoked
 * for refresh-token reuse stays as a tombstone (`reused_at` set, no current
 * hash) until `expires_at`, so its family keeps answering "reused".
 */
export const SessionEntry = defineEntity({
  name: 'LockWatchSession',
  tableName: 'lockwatch_sessions',
  properties: {
    userId: p.text().primary().fieldName('user_id'),
    id: p.text().primary(),
    familyHash: p.text().fieldName('family_hash'),
    refreshHash: p.text().fieldName('refresh_hash'),
    previousHash: p.text().nullable().fieldName('previous_hash'),
    rotatedAt: p.bigint('number').nullable().fieldName('rotated_at'),
    generation: p.integer(),
    createdAt: p.bigint('number').fieldName('created_at'),
    lastUsedAt: p.bigint('number').fieldName('last_used_at'),
    expiresAt: p.bigint('number').fieldName('expires_at').index('lockwatch_sessions_expires_idx'),
    ip: p.text().nullable(),
    userAgent: p.text().nullable().fieldName('user_agent'),
    lastIp: p.text().nullable().fieldName('last_ip'),
    data: p.text().nullable(),
    reusedAt: p.bigint('number').nullable().fieldName('reused_at'),
  },
});

/**
 * Per-token marks (`lockwatch_token_marks`): `deny` for an access-token id
 * on the deny-list, `used` for a single-use token already presented; each
 * kept until `expires_at`, when the token it concerns has expired anyway.
 */
export const TokenMarkEntry = defineEntity({
  name: 'LockWatchTokenMark',
  tableName: 'lockwatch_token_marks',
  properties: {
    userId: p.text().primary().fieldName('user_id'),
    kind: p.text().primary(),
    id: p.text().primary(),
    expiresAt: p
      .bigint('number')
      .fieldName('expires_at')
      .index('lockwatch_token_marks_expires_idx'),
  },
});

/** A user's token cut-off (`lockwatch_user_cutoffs`): tokens issued at or before `cutoff_at` are invalid. */
export const UserCutoffEntry = defineEntity({
  name: 'LockWatchUserCutoff',
  tableName: 'lockwatch_user_cutoffs',
  properties: {
    userId: p.text().primary().fieldName('user_id'),
    cutoffAt: p.bigint('number').fieldName('cutoff_at'),
    expiresAt: p
      .bigint('number')
      .fieldName('expires_at')
      .index('lockwatch_user_cutoffs_expires_idx'),
  },
});

/** The token store's entities. */
export const tokenEntities = [SessionEntry, TokenMarkEntry, UserCutoffEntry] as const;
