/**
 * LockWatch core: rate-limit policies and decisions, the rate limiter, the
 * in-memory stores and the ports adapters implement. Client libraries live
 * behind subpath exports (`lockwatch/redis`, ...) so importing this loads none.
 */
export { createManualClock, type ManualClock } from './adapters/clock/manual.ts';
export { systemClock } from './adapters/clock/system.ts';
// Tokens and sessions (jose only; password hashing loads node:crypto, bcryptjs lazily).
export {
  type Argon2Backend,
  createPasswordHasher,
  hasBuiltInArgon2,
  type PasswordHasherOptions,
} from './adapters/crypto/password-hasher.ts';
export {
  type GuardedTokenStore,
  type TokenStoreGuardOptions,
  withTokenStoreTimeouts,
} from './adapters/failure/token-store.ts';
export {
  type FailurePolicyStore,
  type FailurePolicyStoreOptions,
  withFailurePolicy,
} from './adapters/failure/window-store.ts';
export {
  type AlertLogger,
  createLoggingAlertSink,
  type LoggingAlertSinkOptions,
} from './adapters/log/alert-sink.ts';
export {
  createMemoryAlertSink,
  createMemoryAuditReader,
  createMemoryAuditSink,
  createMemoryWindowStore,
  type MemoryAlertSink,
  type MemoryAuditSink,
  type MemoryWindowStore,
  type MemoryWindowStoreOptions,
} from './adapters/memory/index.ts';
export {
  createMemoryTokenStore,
  type MemoryTokenStore,
  type MemoryTokenStoreOptions,
} from './adapters/memory/token-store.ts';
export {
  type CreateAlertDispatcherOptions,
  type CreateAnomalyMonitorOptions,
  createAlertDispatcher,
  createAnomalyMonitor,
} from './anomaly.ts';
export { type CreateAuditLoggerOptions, createAuditLogger } from './audit-logger.ts';
// The composition root: createLockWatch, memoryStores, lockWatchFromEnv (client libraries loaded lazily).
export * from './compose/index.ts';
export {
  type AlertFields,
  type AlertPayload,
  alertPayload,
  alertSeverities,
  createAlert,
} from './domain/alerts/alert.ts';
export type {
  AlertCounts,
  AlertDispatcher,
  AlertDispatcherOptions,
  AlertDropReason,
  AlertEvent,
  RaiseOutcome,
} from './domain/alerts/dispatcher.ts';
export {
  type AccessList,
  type AccessListOptions,
  type AccessVerdict,
  defineAccessList,
} from './domain/anomaly/access-list.ts';
export {
  type AuthFailure,
  type AuthFailureDetector,
  type AuthFailureOptions,
  type AuthFinding,
  type AuthThresholdOptions,
  defineAuthFailureDetector,
} from './domain/anomaly/auth-failures.ts';
export {
  type BanOptions,
  type BanStatus,
  type Bans,
  createBans,
  type OffenceOutcome,
} from './domain/anomaly/bans.ts';
export {
  type BurstDetector,
  type BurstOptions,
  defineBurstDetector,
} from './domain/anomaly/burst.ts';
export type {
  AnomalyMonitor,
  AnomalyMonitorOptions,
  MonitorBanOptions,
  MonitorEvent,
  Screening,
  ScreeningReason,
} from './domain/anomaly/monitor.ts';
export {
  type Anomaly,
  type AnomalyType,
  anomalyTypes,
  type RequestContext,
} from './domain/anomaly/types.ts';
export { type AuditCursor, decodeCursor, encodeCursor } from './domain/audit/cursor.ts';
export { AuditRecordsRejectedError, AuditWriteTimeoutError } from './domain/audit/errors.ts';
export {
  type AuditDropReason,
  type AuditEvent,
  type AuditStats,
  auditDropReasons,
} from './domain/audit/events.ts';
export type { AuditLogger, AuditLoggerOptions } from './domain/audit/logger.ts';
export { type AuditEntry, auditFieldLimits } from './domain/audit/record.ts';
export { createUuidV7Generator, uuidV7Timestamp } from './domain/audit/uuid.ts';
export type { Duration } from './domain/config/duration.ts';
export { InvalidOptionError } from './domain/config/errors.ts';
export { isLockWatchError, LockWatchError } from './domain/errors.ts';
export type { BreakerState } from './domain/failure/circuit-breaker.ts';
export {
  CircuitOpenError,
  StoreTimeoutError,
  StoreUnavailableError,
} from './domain/failure/errors.ts';
export type { DegradedCause, FailureEvent } from './domain/failure/events.ts';
export type { FailureMode, FailureOptions } from './domain/failure/policy.ts';
export { StoreClosedError } from './domain/ratelimit/errors.ts';
export {
  type ApiKeyOptions,
  apiKey,
  type ClientIpOptions,
  type CustomKeyOptions,
  clientIp,
  customKey,
  type KeyFunction,
  type RequestLike,
  type TrustProxy,
  userKey,
} from './domain/ratelimit/keys.ts';
export type { CheckOptions, RateLimiter } from './domain/ratelimit/limiter.ts';
export {
  algorithms,
  definePolicies,
  definePolicy,
  type PolicyOptions,
} from './domain/ratelimit/policy.ts';
export { escapeSubject } from './domain/ratelimit/subject.ts';
export type {
  Algorithm,
  Decision,
  DecisionReason,
  Policy,
  PolicyMode,
  PolicyResult,
} from './domain/ratelimit/types.ts';
export {
  clearRefreshCookie,
  type RefreshCookieOptions,
  readCookie,
  refreshCookie,
  refreshCookieFor,
} from './domain/tokens/cookies.ts';
export {
  InsufficientScopeError,
  InvalidCredentialsError,
  isTokenError,
  RefreshReusedError,
  SessionNotFoundError,
  TokenAlreadyUsedError,
  TokenError,
  type TokenErrorCode,
  TokenExpiredError,
  TokenInvalidError,
  TokenNotYetValidError,
  TokenRevokedError,
  TokenStoreUnavailableError,
  TokenWrongPurposeError,
  tokenErrorCodes,
} from './domain/tokens/errors.ts';
export {
  type GeneratedKey,
  generateSigningKey,
  type JsonWebKeySet,
  type KeyMaterial,
  type KeyOptions,
  type KeyRing,
  type RingKey,
  type TokenAlgorithm,
  tokenAlgorithms,
} from './domain/tokens/keys.ts';
export { accessTokenType, purposeTokenType } from './domain/tokens/manager.ts';
export type { SessionTokenOptions } from './domain/tokens/options.ts';
export {
  type Argon2Options,
  isBcryptHash,
  owaspArgon2Parameters,
} from './domain/tokens/passwords.ts';
export { builtInPurposes, type PurposeOptions } from './domain/tokens/purposes.ts';
export type { SecretInput } from './domain/tokens/secrets.ts';
export type {
  AccessTokenClaims,
  AccessTokenRef,
  ClaimValidator,
  IssuedPurposeToken,
  IssueOptions,
  PurposeIssueOptions,
  PurposeTokenClaims,
  PurposeVerifyOptions,
  RefreshOptions,
  SessionInfo,
  SessionManager,
  TokenPair,
  VerifiedToken,
  VerifyOptions,
} from './domain/tokens/types.ts';
export {
  type AccessTokenVerifier,
  type Admission,
  type BeforeLimitHook,
  bearerToken,
  type Cost,
  contextOfFailedAdmission,
  createHttpPipeline,
  type DecisionHook,
  type ErrorFormat,
  type FinishEvent,
  type FinishHook,
  type Guard,
  type GuardErrorCode,
  type GuardFailure,
  type GuardResult,
  type HeaderOptions,
  type HeaderPlacement,
  type HttpHooks,
  type HttpOptions,
  type HttpPipeline,
  type HttpReply,
  type HttpRequest,
  isHttpPipeline,
  type LimitCheck,
  type LimitRule,
  type LockWatchContext,
  type Principal,
  type RequireJwtOptions,
  type RouteRule,
  type RouteSettings,
  requireJwt,
  type SkipList,
} from './http/index.ts';
export type * from './ports/index.ts';
export { createRateLimiter, type RateLimiterOptions } from './rate-limiter.ts';
export {
  createSessionManager,
  type SessionManagerOptions,
  type TokenFailureOptions,
} from './sessions.ts';
