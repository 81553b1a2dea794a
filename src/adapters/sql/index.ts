/**
 * `lockwatch/sql`: the audit log, a rate-limit WindowStore and a TokenStore on SQLite or
 * PostgreSQL through MikroORM 7 (optional peer dependencies, loaded only
 * through this entry point). See docs/audit.md.
 */

export { type AuditCursor, decodeCursor, encodeCursor } from '../../domain/audit/cursor.ts';
export { defaultPageSize, maxPageSize } from '../../domain/audit/query.ts';
export {
  createSqlAuditReader,
  type SqlAuditReader,
  type SqlAuditReaderOptions,
} from './audit-reader.ts';
export {
  createSqlAuditSink,
  postgresInsertSql,
  type SqlAuditSink,
  sqliteInsertSql,
} from './audit-sink.ts';
export {
  defaultDatabaseUrl,
  parseDatabaseUrl,
  type SqlEngine,
  type SqlTarget,
} from './config.ts';
export {
  type MigrateOnOpen,
  type MigrationStatus,
  migrationsTable,
  openSqlDatabase,
  type SqlDatabase,
  type SqlDatabaseOptions,
} from './database.ts';
export { AuditLogEntry, lockwatchEntities, WindowStateEntry } from './entities.ts';
export { SqlDriverMissingError, SqlSchemaError, SqlSchemaMismatchError } from './errors.ts';
export { type MigrationEntry, migrationsOf } from './migrations/index.ts';
export type { NativeClient, PostgresNative, SqliteNative } from './native.ts';
export {
  SessionEntry,
  TokenMarkEntry,
  tokenEntities,
  UserCutoffEntry,
} from './token-entities.ts';
export { createSqlTokenStore, type SqlTokenStore } from './token-store.ts';
export {
  createSqlWindowStore,
  type SqlWindowStore,
  type SqlWindowStoreOptions,
  subjectKey,
} from './window-store.ts';
