export type { Alert, AlertSeverity, AlertSink } from './alert-sink.ts';
export type { AuditPage, AuditQuery, AuditReader, AuditRecord, AuditSink } from './audit.ts';
export type { CallOptions } from './call-options.ts';
export type { CancelTimer, Clock } from './clock.ts';
export type {
  Argon2idFunction,
  Argon2Parameters,
  BcryptVerifyFunction,
  PasswordHasher,
} from './password-hasher.ts';
export type {
  RevocationQuery,
  RevocationState,
  RotateOutcome,
  RotateRequest,
  SessionRecord,
  TokenStore,
} from './token-store.ts';
export type { WindowStore } from './window-store.ts';
