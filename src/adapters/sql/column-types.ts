import type { SqlEngine } from './config.ts';

/** What a column's values are, as far as LockWatch's statements care. */
export type TypeFamily =
  | 'text'
  /** SQLite's integer, real and numeric affinities: it stores either kind of number in any of them. */
  | 'number'
  | 'integer'
  | 'float'
  | 'numeric'
  | 'uuid'
  | 'boolean'
  | 'blob'
  | 'other';

/** A declared column type, sorted into its family. */
export interface ColumnType {
  /** Its family. */
  readonly family: TypeFamily;
  /**
   * PostgreSQL: bytes of an integer or float; most characters of a text
   * type (undefined: no limit).
   */
  readonly size?: number | undefined;
}

/**
 * A SQLite declared type's family, by SQLite's own affinity rules (so
 * `varchar(64)` is text, `bigint` and `boolean` numbers, no type a blob).
 */
export function sqliteColumnType(declared: string): ColumnType {
  const type = declared.toUpperCase();
  if (type.includes('INT')) return { family: 'number' };
  if (/CHAR|CLOB|TEXT/.test(type)) return { family: 'text' };
  if (type.includes('BLOB') || type.trim() === '') return { family: 'blob' };
  return { family: 'number' };
}

const postgresTypes: Readonly<Record<string, ColumnType>> = {
  smallint: { family: 'integer', size: 2 },
  int2: { family: 'integer', size: 2 },
  integer: { family: 'integer', size: 4 },
  int: { family: 'integer', size: 4 },
  int4: { family: 'integer', size: 4 },
  bigint: { family: 'integer', size: 8 },
  int8: { family: 'integer', size: 8 },
  real: { family: 'float', size: 4 },
  float4: { family: 'float', size: 4 },
  'double precision': { family: 'float', size: 8 },
  float8: { family: 'float', size: 8 },
  numeric: { family: 'numeric' },
  decimal: { family: 'numeric' },
  text: { family: 'text' },
  'character varying': { family: 'text' },
  varchar: { family: 'text' },
  uuid: { family: 'uuid' },
  boolean: { family: 'boolean' },
  bool: { family: 'boolean' },
  bytea: { family: 'blob' },
};

/**
 * A PostgreSQL type, as a migration declares it or `format_type()` shows
 * it (`character varying(64)`, `double precision`), sorted into its family;
 * a domain, an array or an unknown type is `other`.
 */
export function postgresColumnType(declared: string): ColumnType {
  const type = declared.trim().toLowerCase();
  const sized = /^(character varying|varchar|character|char|bpchar|numeric|decimal)\s*\((\d+)/.exec(
    type,
  );
  if (sized) {
    const [, base, length] = sized;
    if (base === 'numeric' || base === 'decimal') return { family: 'numeric' };
    return { family: 'text', size: Number(length) };
  }
  // `character` alone is char(1).
  if (type === 'character' || type === 'char' || type === 'bpchar')
    return { family: 'text', size: 1 };
  return postgresTypes[type] ?? { family: 'other' };
}

/** A declared type's family on `engine`. */
export function columnType(engine: SqlEngine, declared: string): ColumnType {
  return engine === 'sqlite' ? sqliteColumnType(declared) : postgresColumnType(declared);
}

/**
 * True when a column of type `found` holds every value LockWatch keeps in
 * one of type `expected`: the same family, and no smaller (an `integer`
 * where LockWatch keeps epoch-ms `bigint`s would overflow, a `varchar(32)`
 * truncate its 64-character keys). A larger one is accepted.
 */
export function holds(expected: ColumnType, found: ColumnType): boolean {
  if (expected.family !== found.family) return false;
  if (expected.family === 'text') {
    return found.size === undefined || (expected.size !== undefined && found.size >= expected.size);
  }
  return (found.size ?? 0) >= (expected.size ?? 0);
}
