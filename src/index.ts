/**
 * LockWatch core: rate-limit policies and decisions, the rate limiter, the
 * in-memory stores and the ports adapters implement. Client libraries live
 * behind subpath exports (`lockwatch/redis`, ...) so importing this loads none.
 */
export { createManualClock, type ManualClock } from './adapters/clock/manual.ts';
export { systemClock } from './adapters/clock/system.ts';
export {
  type FailurePolicyStore,
  type FailurePolicyStoreOptions,
  withFailurePolicy,
} from './adapters/failure/window-store.ts';
export {
  createMemoryAlertSink,
  createMemoryAuditSink,
  createMemoryWindowStore,
  type MemoryAlertSink,
  type MemoryAuditSink,
  type MemoryWindowStore,
  type MemoryWindowStoreOptions,
} from './adapters/memory/index.ts';
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
export type * from './ports/index.ts';
export { createRateLimiter, type RateLimiterOptions } from './rate-limiter.ts';
