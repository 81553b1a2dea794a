import type { NativeClient } from './native.ts';

/** One column of a table as the database's catalog describes it. */
export interface FoundColumn {
  /** Column name. */
  readonly name: string;
  /** Declared type (SQLite: as written; PostgreSQL: `format_type()`, such as `character varying(64)`). */
  readonly type: string;
  /** True when it refuses null. */
  readonly notNull: boolean;
  /** True when an insert that leaves it out fills it: a default, an identity or a generated column. */
  readonly defaulted: boolean;
  /** Its place in the primary key, from 1; 0 when it is not part of it. */
  readonly primaryKeyPosition: number;
}

/** A table found in the database: its columns in order. */
export interface FoundTable {
  /** Table name. */
  readonly name: string;
  /** Its columns (none for a PostgreSQL table created without any). */
  readonly columns: readonly FoundColumn[];
}

interface SqliteColumnRow {
  name: string;
  type: string;
  notnull: number;
  dflt_value: unknown;
  pk: number;
}

interface PostgresColumnRow {
  table: string;
  name: string | null;
  type: string | null;
  not_null: boolean | null;
  defaulted: boolean | null;
  pk: number | null;
}

/**
 * PostgreSQL: the columns of the named tables, either those in
 * `current_schema()` (`$2` false: where LockWatch's unqualified `create
 * table if not exists` looks, so a table of the name further down
 * `search_path` is not one it would skip creating) or those an unqualified
 * name resolves to now through `search_path` (`$2` true: what LockWatch's
 * statements use when nothing is created first). The schema is matched by
 * name: a `regnamespace` cast would fold a mixed-case name to lower case.
 * Any relation kind counts: `if not exists` skips a view of the name too.
 * Catalog reads take no lock on the tables. The key's positions come from
 * `unnest ... with ordinality` (1-based): `indkey` is an int2vector, whose
 * subscripts start at 0.
 */
const postgresColumnsSql = `select c.relname as "table", a.attname as name,
  format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null,
  (a.atthasdef or a.attidentity <> '' or a.attgenerated <> '') as defaulted,
  coalesce((select k.n from unnest(i.indkey) with ordinality as k(attnum, n)
    where k.attnum = a.attnum), 0)::int as pk
from pg_class c
left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
left join pg_index i on i.indrelid = c.oid and i.indisprimary
join pg_namespace n on n.oid = c.relnamespace
where c.relname = any($1::text[]) and case when $2::boolean
  then c.oid = to_regclass(quote_ident(c.relname))
  else n.nspname = current_schema() end
order by c.relname, a.attnum`;

/**
 * Reads the shape of those of `names` that exist (a missing one is absent
 * from the map): on SQLite from `pragma_table_info` of the main database,
 * on PostgreSQL from the catalog in one statement (in the current schema,
 * or where the names resolve when `resolved`; see above), given up client-side at
 * `queryTimeoutMs` like LockWatch's other single statements. Driver errors
 * are thrown as they are, for the caller's retry of lost races.
 */
export async function inspectTables(
  native: NativeClient,
  names: readonly string[],
  queryTimeoutMs: number,
  resolved: boolean,
): Promise<Map<string, FoundTable>> {
  const found = new Map<string, FoundTable>();
  if (native.kind === 'sqlite') {
    // SQLite matches table names without regard to case, as `create table if not exists` does.
    const statement = native.db.prepare(
      `select name, type, "notnull", dflt_value, pk from pragma_table_info(?, 'main')`,
    );
    for (const name of names) {
      const rows = statement.all(name) as SqliteColumnRow[];
      if (rows.length === 0) continue;
      found.set(name, {
        name,
        columns: rows.map((row) => ({
          name: row.name,
          type: row.type,
          notNull: row.notnull === 1,
          defaulted: row.dflt_value !== null,
          primaryKeyPosition: row.pk,
        })),
      });
    }
    return found;
  }
  const { rows } = await native.pool.query<PostgresColumnRow>({
    text: postgresColumnsSql,
    values: [names, resolved],
    query_timeout: queryTimeoutMs,
  });
  for (const row of rows) {
    const table = found.get(row.table) ?? { name: row.table, columns: [] as FoundColumn[] };
    found.set(row.table, table);
    if (row.name === null) continue;
    (table.columns as FoundColumn[]).push({
      name: row.name,
      type: row.type ?? '',
      notNull: row.not_null === true,
      defaulted: row.defaulted === true,
      primaryKeyPosition: Number(row.pk ?? 0),
    });
  }
  return found;
}
