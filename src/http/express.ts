/**
 * Express 5 middleware (`lockwatch/express`): one `app.use()` puts the whole
 * pipeline in front of every route, and `req.lockwatch` carries the request's
 * context to handlers. The client IP follows LockWatch's `trustProxy`, not
 * Express's `trust proxy` setting.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { nodeRequest, sendReply, setHeaders } from './node-response.ts';
import { contextOfFailedAdmission, toPipeline } from './pipeline.ts';
import { finishWith } from './response-end.ts';
import type { Admission, HttpOptions, HttpPipeline, LockWatchContext } from './types.ts';

declare global {
  namespace Express {
    interface Request {
      /** LockWatch's context of this request (set by `expressLockWatch`). */
      lockwatch?: LockWatchContext;
    }
  }
}

/** What the middleware reads and writes of an Express request: Node's request, `originalUrl`, `lockwatch`. */
export interface ExpressRequest extends IncomingMessage {
  /** The URL before any mount point was stripped. */
  originalUrl?: string;
  /** Set by the middleware. */
  lockwatch?: LockWatchContext;
}

/** An Express middleware function. */
export type ExpressMiddleware = (
  req: ExpressRequest,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * Creates the Express middleware from pipeline options (validated now) or a
 * pipeline. A refused request gets its reply here and never reaches the
 * route; an error (a store without failure policy that throws) goes to
 * Express's error handling through `next(error)`.
 */
export function expressLockWatch(
  source: HttpOptions<ExpressRequest> | HttpPipeline<ExpressRequest>,
): ExpressMiddleware {
  const pipeline = toPipeline(source);
  const proceed = (
    req: ExpressRequest,
    res: ServerResponse,
    next: (error?: unknown) => void,
    admission: Admission,
  ): void => {
    const { context, reply } = admission;
    req.lockwatch = context;
    finishWith(pipeline as HttpPipeline<never>, res, context);
    if (reply !== undefined) {
      try {
        sendReply(res, reply);
      } catch (error) {
        // A hook's reply Node refuses (a bad field value): after an await, a throw here would be
        // an unhandled rejection, which ends the process.
        next(error);
      }
      return;
    }
    try {
      setHeaders(res, admission.headers);
    } catch (error) {
      // Headers already sent by an earlier middleware: Express's error handling decides.
      next(error);
      return;
    }
    next();
  };
  return (req, res, next) => {
    const request = nodeRequest(req, req, req.originalUrl ?? req.url);
    const admitted = pipeline.admit(request);
    if (admitted instanceof Promise) {
      admitted.then(
        (admission) => proceed(req, res, next, admission),
        (error: unknown) => {
          // The error response Express's handling sends still ends the request's context.
          const context = contextOfFailedAdmission(request);
          if (context !== undefined) {
            req.lockwatch = context;
            finishWith(pipeline as HttpPipeline<never>, res, context);
          }
          next(error);
        },
      );
    } else proceed(req, res, next, admitted);
  };
}

export type * from './types.ts';
