/** The part of a better-sqlite3 statement LockWatch uses. */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
}

/** The part of a better-sqlite3 Database LockWatch uses. */
export interface SqliteNative {
  readonly inTransaction: boolean;
  prepare(source: string): SqliteStatement;
  transaction<A extends unknown[], R>(
    fn: (...args: A) => R,
  ): ((...args: A) => R) & {
    immediate(...args: A): R;
  };
  pragma(source: string, options?: { simple?: boolean }): unknown;
  exec(source: string): unknown;
}

/** A pg client checked out of the pool. */
export interface PostgresPoolClient {
  query<R = unknown>(
    config:
      | string
      | { text: string; values?: unknown[]; name?: string; query_timeout?: number | undefined },
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
  release(error?: Error | boolean): void;
}

/** The part of a pg Pool LockWatch uses. */
export interface PostgresNative {
  query<R = unknown>(
    config:
      | string
      | { text: string; values?: unknown[]; name?: string; query_timeout?: number | undefined },
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
  connect(): Promise<PostgresPoolClient>;
}

/** The driver client MikroORM holds, tagged with its engine. */
export type NativeClient =
  | { readonly kind: 'sqlite'; readonly db: SqliteNative }
  | { readonly kind: 'postgresql'; readonly pool: PostgresNative };
