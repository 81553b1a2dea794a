import { createMemoryAuditReader } from '../../../src/adapters/memory/audit-reader.ts';
import { createMemoryAuditSink } from '../../../src/adapters/memory/audit-sink.ts';
import { auditLogContract } from '../../contracts/audit/index.ts';

auditLogContract('memory', async () => {
  const sink = createMemoryAuditSink();
  return { sink, reader: createMemoryAuditReader(sink) };
});
