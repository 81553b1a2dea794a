import { describe } from 'vitest';
import { createSqlTokenStore } from '../../../src/adapters/sql/token-store.ts';
import { tokenStoreContract } from '../../contracts/token-store/index.ts';
import {
  postgresAvailable,
  postgresTarget,
  type SqlTargetFixture,
  sqliteTarget,
  useDatabase,
} from './harness.ts';

function run(target: SqlTargetFixture) {
  const holder = useDatabase(target);
  tokenStoreContract(`SQL, ${target.name}`, async () => ({
    store: createSqlTokenStore(holder.db),
  }));
}

describe('SQLite', () => run(sqliteTarget()));

const pg = postgresAvailable();
describe.runIf(pg.available)(`PostgreSQL${pg.note}`, () => run(postgresTarget()));
