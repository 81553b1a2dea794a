export { createManualClock, type ManualClock } from '../clock/manual.ts';
export { createMemoryAlertSink, type MemoryAlertSink } from './alert-sink.ts';
export { createMemoryAuditReader } from './audit-reader.ts';
export { createMemoryAuditSink, type MemoryAuditSink } from './audit-sink.ts';
export {
  createMemoryTokenStore,
  type MemoryTokenStore,
  type MemoryTokenStoreOptions,
} from './token-store.ts';
export {
  createMemoryWindowStore,
  type MemoryWindowStore,
  type MemoryWindowStoreOptions,
} from './window-store.ts';
