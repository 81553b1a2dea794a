/** One column as LockWatch's migrations create it. */
export interface ExpectedColumn {
  /** Column name. */
  readonly name: string;
  /** Its declared type in the SQLite migration. */
  readonly sqlite: string;
  /** Its declared type in the PostgreSQL migration. */
  readonly postgresql: string;
  /** True when LockWatch writes null into it (so it must accept null). */
  readonly nullable: boolean;
}

/** One table as LockWatch's migrations create it. */
export interface ExpectedTable {
  /** Table name. */
  readonly name: string;
  /** Its columns, in the migration's order. */
  readonly columns: readonly ExpectedColumn[];
  /** Its primary key columns, in order. */
  readonly primaryKey: readonly string[];
}

const column =
  (sqlite: string, postgresql: string) =>
  (name: string, nullable = false): ExpectedColumn => ({ name, sqlite, postgresql, nullable });
const text = column('text', 'text');
const int64 = column('bigint', 'bigint');

/**
 * LockWatch's tables as its migrations (src/adapters/sql/migrations) leave
 * them, what the schema check compares a table of the same name with. Kept
 * by hand beside the migrations (test/adapters/sql/schema-check.test.ts
 * compares it with freshly migrated databases of both engines). Each table
 * has had one shape so far; a migration that changes one must make this
 * per migration, or the check would refuse LockWatch's own table at its
 * older shape before `migrate up` could bring it forward.
 */
export const expectedTables: readonly ExpectedTable[] = [
  {
    name: 'lockwatch_audit_log',
    columns: [
      column('text', 'uuid')('id'),
      int64('timestamp'),
      text('request_id', true),
      text('user_id', true),
      text('ip'),
      text('endpoint'),
      text('method'),
      column('integer', 'smallint')('status_code'),
      column('integer', 'boolean')('rate_limit_hit'),
      column('integer', 'boolean')('anomaly_detected'),
      column('double', 'double precision')('latency_ms'),
    ],
    primaryKey: ['id'],
  },
  {
    name: 'lockwatch_window_state',
    columns: [column('text', 'varchar(64)')('key'), text('states'), int64('expires_at')],
    primaryKey: ['key'],
  },
  {
    name: 'lockwatch_sessions',
    columns: [
      text('user_id'),
      text('id'),
      text('family_hash'),
      text('refresh_hash'),
      text('previous_hash', true),
      int64('rotated_at', true),
      column('integer', 'int')('generation'),
      int64('created_at'),
      int64('last_used_at'),
      int64('expires_at'),
      text('ip', true),
      text('user_agent', true),
      text('last_ip', true),
      text('data', true),
      int64('reused_at', true),
    ],
    primaryKey: ['user_id', 'id'],
  },
  {
    name: 'lockwatch_token_marks',
    columns: [text('user_id'), text('kind'), text('id'), int64('expires_at')],
    primaryKey: ['user_id', 'kind', 'id'],
  },
  {
    name: 'lockwatch_user_cutoffs',
    columns: [text('user_id'), int64('cutoff_at'), int64('expires_at')],
    primaryKey: ['user_id'],
  },
];
