import type { Migration } from '@mikro-orm/migrations';
import { Migration20261129143031_init as PostgresInit } from './postgresql/Migration20261129143031_init.ts';
import { Migration20261129145729_tokens as PostgresTokens } from './postgresql/Migration20261129145729_tokens.ts';
import { Migration20261129143031_init as SqliteInit } from './sqlite/Migration20261129143031_init.ts';
import { Migration20261129145729_tokens as SqliteTokens } from './sqlite/Migration20261129145729_tokens.ts';

/** A migration class as MikroORM's migrator takes it in `migrationsList`. */
export interface MigrationEntry {
  /** Name recorded in `lockwatch_migrations`. */
  readonly name: string;
  /** The class the migrator instantiates. */
  readonly class: new (
    ...args: ConstructorParameters<typeof Migration>
  ) => Migration;
}

/**
 * The committed migrations of one engine, oldest first. They are imported
 * here rather than found by scanning a folder, so the compiled package (dist)
 * and the TypeScript sources (tests) run the same list with no file lookup.
 */
export function migrationsOf(engine: 'sqlite' | 'postgresql'): MigrationEntry[] {
  const list = engine === 'sqlite' ? [SqliteInit, SqliteTokens] : [PostgresInit, PostgresTokens];
  return list.map((migration) => ({ name: declaredName(migration), class: migration }));
}

/**
 * The name a migration declares (`override name = '...'`), read from an
 * instance: the class's own name is what minifiers rename, and a renamed
 * migration would run again on every database that recorded the old name.
 */
function declaredName(migration: MigrationEntry['class']): string {
  // The constructor only keeps its arguments; nothing runs until up() or down().
  const { name } = new migration(undefined as never, undefined as never);
  if (typeof name !== 'string' || name === '') {
    throw new Error(`LockWatch migration ${migration.name} declares no name`);
  }
  return name;
}
