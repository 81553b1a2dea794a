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
  return list.map((migration) => ({ name: migration.name, class: migration }));
}
