import { describe } from 'vitest';
import { createSqlAuditReader } from '../../../src/adapters/sql/audit-reader.ts';
import { createSqlAuditSink } from '../../../src/adapters/sql/audit-sink.ts';
import { auditLogContract } from '../../contracts/audit/index.ts';
import {
  postgresAvailable,
  postgresTarget,
  type SqlTargetFixture,
  sqliteTarget,
  useDatabase,
} from './harness.ts';

function run(target: SqlTargetFixture) {
  const holder = useDatabase(target);
  auditLogContract(`SQL, ${target.name}`, async () => {
    await holder.db.orm.em.fork().getConnection().execute('delete from lockwatch_audit_log');
    // A small purge batch makes the contract's purge go through several batches.
    return {
      sink: createSqlAuditSink(holder.db),
      reader: createSqlAuditReader(holder.db, { purgeBatchSize: 7 }),
    };
  });
}

describe('SQLite file', () => run(sqliteTarget()));

const pg = postgresAvailable();
describe.runIf(pg.available)(`PostgreSQL${pg.note}`, () => run(postgresTarget()));
