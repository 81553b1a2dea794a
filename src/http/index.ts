/**
 * The framework-neutral HTTP core: the pipeline every adapter
 * (`lockwatch/express`, `lockwatch/fastify`, `lockwatch/hono`,
 * `lockwatch/node`) is a thin layer over, for writing another adapter or
 * composing the pipeline once and handing it to several.
 */
export {
  type AccessTokenVerifier,
  bearerToken,
  type GuardErrorCode,
  type GuardFailure,
  type RequireJwtOptions,
  requireJwt,
} from './guards.ts';
export { ceilSeconds, policyField, policyItem } from './headers.ts';
export { contextOfFailedAdmission, createHttpPipeline, isHttpPipeline } from './pipeline.ts';
export type { RefusalCode } from './replies.ts';
export { type HeaderRecord, headersFromFetch, pathOf } from './request.ts';
export type * from './types.ts';
