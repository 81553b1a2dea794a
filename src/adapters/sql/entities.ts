import { defineEntity, p } from '@mikro-orm/core';
import { tokenEntities } from './token-entities.ts';

/**
 * One request in the audit log (`lockwatch_audit_log`). Times are integer
 * epoch milliseconds on both engines, so a record reads back exactly as it
 * was written. Indexes lead with the filtered column and end with
 * (timestamp, id), so "newest N for this IP" or "for this user" is one range
 * scan read backwards; partial indexes serve "rate-limit hits" and
 * "anomalies" the same way.
 */
export const AuditLogEntry = defineEntity({
  name: 'LockWatchAuditLogEntry',
  tableName: 'lockwatch_audit_log',
  properties: {
    id: p.uuid().primary(),
    timestamp: p.bigint('number'),
    requestId: p.text().nullable().fieldName('request_id'),
    userId: p.text().nullable().fieldName('user_id'),
    ip: p.text(),
    endpoint: p.text(),
    method: p.text(),
    statusCode: p.smallint().fieldName('status_code'),
    rateLimitHit: p.boolean().fieldName('rate_limit_hit'),
    anomalyDetected: p.boolean().fieldName('anomaly_detected'),
    latencyMs: p.double().fieldName('latency_ms'),
  },
  indexes: [
    { name: 'lockwatch_audit_log_ip_time_idx', properties: ['ip', 'timestamp', 'id'] },
    { name: 'lockwatch_audit_log_user_time_idx', properties: ['userId', 'timestamp', 'id'] },
    { name: 'lockwatch_audit_log_time_idx', properties: ['timestamp', 'id'] },
    {
      name: 'lockwatch_audit_log_rate_limit_idx',
      properties: ['timestamp', 'id'],
      where: { rateLimitHit: true },
    },
    {
      name: 'lockwatch_audit_log_anomaly_idx',
      properties: ['timestamp', 'id'],
      where: { anomalyDetected: true },
    },
  ],
});

/**
 * Rate-limit state of one subject (`lockwatch_window_state`): the states of
 * all its policies as one JSON document, keyed by a hash of the subject so
 * that no client text reaches an index. `expires_at` (epoch ms) lets a sweep
 * delete what no longer matters.
 */
export const WindowStateEntry = defineEntity({
  name: 'LockWatchWindowState',
  tableName: 'lockwatch_window_state',
  properties: {
    key: p.string().length(64).primary(),
    states: p.text(),
    expiresAt: p
      .bigint('number')
      .fieldName('expires_at')
      .index('lockwatch_window_state_expires_idx'),
  },
});

/** Every entity of LockWatch's SQL schema; add them to a MikroORM instance you pass in. */
export const lockwatchEntities = [AuditLogEntry, WindowStateEntry, ...tokenEntities] as const;
