import { describe } from 'vitest';
import { createSqlWindowStore } from '../../../src/adapters/sql/window-store.ts';
import { windowStoreContract } from '../../contracts/window-store/index.ts';
import {
  postgresAvailable,
  postgresTarget,
  type SqlTargetFixture,
  sqliteTarget,
  useDatabase,
} from './harness.ts';

function run(target: SqlTargetFixture) {
  const holder = useDatabase(target);
  windowStoreContract(`SQL, ${target.name}, client time`, async (clock) => ({
    store: createSqlWindowStore(holder.db, { time: 'client', clock }),
  }));
}

describe('SQLite', () => run(sqliteTarget()));

const pg = postgresAvailable();
describe.runIf(pg.available)(`PostgreSQL${pg.note}`, () => run(postgresTarget()));
