import { columnType, holds } from './column-types.ts';
import type { SqlEngine } from './config.ts';
import { SqlSchemaMismatchError } from './errors.ts';
import type { NativeClient } from './native.ts';
import type { FoundColumn, FoundTable } from './schema-inspect.ts';
import { inspectTables } from './schema-inspect.ts';
import { type ExpectedTable, expectedTables } from './schema-shape.ts';

/**
 * What is wrong with `found` for LockWatch's table `expected`, one phrase
 * per problem (none: LockWatch can use it). The rule: every column of
 * LockWatch's is there, of a type family that holds its values (see
 * {@link holds}), and accepts null where LockWatch writes null; the primary
 * key is LockWatch's columns in LockWatch's order; any other column is
 * nullable or has a default (LockWatch's inserts leave it out).
 */
export function shapeProblems(
  engine: SqlEngine,
  expected: ExpectedTable,
  found: FoundTable,
): string[] {
  // SQLite column names are not case-sensitive; PostgreSQL's (as quoted by the migrations) are.
  const key = (name: string) => (engine === 'sqlite' ? name.toLowerCase() : name);
  const byName = new Map(found.columns.map((c) => [key(c.name), c]));
  const problems: string[] = [];
  for (const want of expected.columns) {
    const have = byName.get(key(want.name));
    if (have === undefined) {
      problems.push(`column ${want.name} is missing`);
      continue;
    }
    const declared = want[engine];
    if (!holds(columnType(engine, declared), columnType(engine, have.type))) {
      problems.push(`column ${want.name} is ${have.type || 'untyped'}, not ${declared}`);
    }
    if (want.nullable && have.notNull) {
      problems.push(`column ${want.name} is not null, but LockWatch stores null in it`);
    }
  }
  const ours = new Set(expected.columns.map((c) => key(c.name)));
  for (const extra of found.columns) {
    if (!ours.has(key(extra.name)) && extra.notNull && !extra.defaulted) {
      problems.push(
        `extra column ${extra.name} is not null without a default (LockWatch's inserts leave it out)`,
      );
    }
  }
  const primaryKey = primaryKeyOf(found.columns);
  if (primaryKey.map(key).join() !== expected.primaryKey.map(key).join()) {
    problems.push(
      `primary key ${primaryKey.length === 0 ? 'is missing' : `is (${primaryKey.join(', ')})`}, not (${expected.primaryKey.join(', ')})`,
    );
  }
  return problems;
}

function primaryKeyOf(columns: readonly FoundColumn[]): string[] {
  return columns
    .filter((c) => c.primaryKeyPosition > 0)
    .sort((a, b) => a.primaryKeyPosition - b.primaryKeyPosition)
    .map((c) => c.name);
}

function describeExpected(engine: SqlEngine, table: ExpectedTable): string {
  const columns = table.columns.map(
    (c) => `${c.name} ${c[engine]}${c.nullable ? '' : ' not null'}`,
  );
  return `${columns.join(', ')}; primary key (${table.primaryKey.join(', ')})`;
}

function describeFound(table: FoundTable): string {
  const columns = table.columns.map(
    (c) =>
      `${c.name} ${c.type || 'untyped'}${c.notNull ? ' not null' : ''}${c.defaulted ? ' default' : ''}`,
  );
  const primaryKey = primaryKeyOf(table.columns);
  return `${columns.length === 0 ? 'no columns' : columns.join(', ')}; ${
    primaryKey.length === 0 ? 'no primary key' : `primary key (${primaryKey.join(', ')})`
  }`;
}

/**
 * Checks every LockWatch table that exists on the database against the
 * shape LockWatch's migrations create, and throws one SqlSchemaMismatchError naming
 * each table that differs, what was expected, what was found and the fix.
 * The migrations create tables `if not exists`, so without this a table of
 * the same name from something else would be taken as LockWatch's and fail
 * its first statement (the rate limiter's `open` failure policy then admits
 * every request). A missing table passes: migrations create it, and the
 * migration check reports it. `resolved`: check the tables LockWatch's
 * unqualified names reach now through PostgreSQL's `search_path` (nothing
 * will be created first: opening with `off` or `check`, `migrate down`);
 * otherwise those in the current schema, where `migrate up` creates them.
 */
export async function checkTableShapes(
  native: NativeClient,
  description: string,
  queryTimeoutMs: number,
  resolved: boolean,
): Promise<void> {
  const engine = native.kind;
  const found = await inspectTables(
    native,
    expectedTables.map((t) => t.name),
    queryTimeoutMs,
    resolved,
  );
  const wrong: string[] = [];
  for (const expected of expectedTables) {
    const table = found.get(expected.name);
    if (table === undefined) continue;
    const problems = shapeProblems(engine, expected, table);
    if (problems.length === 0) continue;
    wrong.push(
      `table ${expected.name}: ${problems.join('; ')}. Expected (as LockWatch's migrations create it): ${describeExpected(engine, expected)}. Found: ${describeFound(table)}.`,
    );
  }
  if (wrong.length === 0) return;
  // The wording avoids "already exists": the migration runner retries errors that say so.
  throw new SqlSchemaMismatchError(
    `LockWatch cannot use ${wrong.length === 1 ? 'a table' : 'tables'} of its name on ${description} with another shape than its migrations create (a table of something else?):\n- ${wrong.join('\n- ')}\n` +
      "Fix: LockWatch needs these tables to itself and has no table-prefix option. Rename or drop each table above that is not LockWatch's (ALTER TABLE <name> RENAME TO <other name> keeps its rows), or point LockWatch at a database of its own (another SQLite file or PostgreSQL database); its migrations then create its tables. " +
      'A table of LockWatch\'s may have extra columns only if they are nullable or have a default; its own columns keep their names, type family and nullability, and its primary key LockWatch\'s columns in order. See docs/audit.md, "Tables of the same name".',
  );
}
