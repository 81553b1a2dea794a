/** The set of stores LockWatch runs on, and the in-memory set for tests and single-process apps. */
import { createMemoryAlertSink, type MemoryAlertSink } from '../adapters/memory/alert-sink.ts';
import { createMemoryAuditReader } from '../adapters/memory/audit-reader.ts';
import { createMemoryAuditSink, type MemoryAuditSink } from '../adapters/memory/audit-sink.ts';
import { createMemoryTokenStore, type MemoryTokenStore } from '../adapters/memory/token-store.ts';
import {
  createMemoryWindowStore,
  type MemoryWindowStore,
} from '../adapters/memory/window-store.ts';
import { integerOption } from '../domain/config/validate.ts';
import type { AlertSink } from '../ports/alert-sink.ts';
import type { AuditReader, AuditSink } from '../ports/audit.ts';
import type { Clock } from '../ports/clock.ts';
import type { TokenStore } from '../ports/token-store.ts';
import type { WindowStore } from '../ports/window-store.ts';

/** Where each concern keeps its state; only `window` is required. */
export interface LockWatchStores {
  /** Rate limits, burst and auth-failure counts, bans, alert dedup, login limits. */
  readonly window: WindowStore;
  /** Sessions and revocations; a memory store inside the session manager when left out. */
  readonly tokens?: TokenStore | undefined;
  /** Where audit records go; no audit log when left out. */
  readonly audit?: AuditSink | undefined;
  /** Reads the audit log back (the demo's `GET /audit`). */
  readonly auditReader?: AuditReader | undefined;
  /** Where alerts go; the logging sink (console) when left out. Closed with the LockWatch. */
  readonly alerts?: AlertSink | undefined;
  /** Releases what the set holds (connections); called last by `close()` when LockWatch made the set. */
  readonly close?: (() => Promise<void>) | undefined;
}

/** The in-memory set: the concrete stores, for tests that look inside. */
export interface MemoryStores extends LockWatchStores {
  readonly window: MemoryWindowStore;
  readonly tokens: MemoryTokenStore;
  readonly audit: MemoryAuditSink;
  readonly auditReader: AuditReader;
  readonly alerts: MemoryAlertSink;
  close(): Promise<void>;
}

/** Options of {@link memoryStores}. */
export interface MemoryStoresOptions {
  /** Time source of the window store; the system clock by default. */
  readonly clock?: Clock | undefined;
  /** Most rate-limit keys held; 100,000 by default. */
  readonly maxKeys?: number | undefined;
  /** Most audit records held (the newest); 10,000 by default. */
  readonly maxAuditRecords?: number | undefined;
  /** Most alerts the capturing sink holds (the newest); 1,000 by default. */
  readonly maxAlerts?: number | undefined;
}

/**
 * A complete in-memory set: window store, token store, audit sink and
 * reader, capturing alert sink (for tests that look at the alerts; it logs
 * nothing). For tests and single-process apps; the audit and alert sinks
 * keep only the newest entries, so give a server whose audit log must last
 * a SQL sink, and one whose alerts must be seen a webhook or logging sink.
 */
export function memoryStores(options: MemoryStoresOptions = {}): MemoryStores {
  const window = createMemoryWindowStore({ clock: options.clock, maxKeys: options.maxKeys });
  const tokens = createMemoryTokenStore();
  const maxRecords =
    options.maxAuditRecords === undefined
      ? undefined
      : integerOption('maxAuditRecords', options.maxAuditRecords, 1, 10_000_000);
  const audit = createMemoryAuditSink({ maxRecords });
  const alerts = createMemoryAlertSink({ maxAlerts: options.maxAlerts });
  return {
    window,
    tokens,
    audit,
    auditReader: createMemoryAuditReader(audit),
    alerts,
    async close() {
      await Promise.all([window.close(), tokens.close(), audit.close()]);
    },
  };
}
