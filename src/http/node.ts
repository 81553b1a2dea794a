/**
 * `node:http` (`lockwatch/node`): wraps a request listener so that the
 * pipeline runs before it; the listener gets the request's context as a third
 * argument. Works for `http.createServer` and `https.createServer` alike.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidOptionError } from '../domain/config/errors.ts';
import { nodeRequest, sendReply, setHeaders } from './node-response.ts';
import { contextOfFailedAdmission, toPipeline } from './pipeline.ts';
import { finishWith } from './response-end.ts';
import type { Admission, HttpOptions, HttpPipeline, LockWatchContext } from './types.ts';

/** A request listener that also receives LockWatch's context. */
export type LockWatchListener = (
  req: IncomingMessage,
  res: ServerResponse,
  context: LockWatchContext,
) => void | Promise<void>;

/** Options of the wrapper itself. */
export interface NodeLockWatchOptions {
  /**
   * Receives an error of the pipeline or of the listener (thrown or
   * rejected). By default it is logged with `console.error` and, when nothing
   * was sent yet, answered `500 {"error":"internal_error"}`.
   */
  readonly onError?:
    | ((error: unknown, req: IncomingMessage, res: ServerResponse) => void)
    | undefined;
}

function defaultOnError(error: unknown, _req: IncomingMessage, res: ServerResponse): void {
  console.error('lockwatch: request failed', error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(500, { 'content-type': 'application/json' });
  res.end('{"error":"internal_error"}');
}

/**
 * Wraps `listener`: `createServer(nodeLockWatch({ limiter }, (req, res, ctx) => ...))`.
 * Pipeline options are validated now.
 */
export function nodeLockWatch(
  source: HttpOptions<IncomingMessage> | HttpPipeline<IncomingMessage>,
  listener: LockWatchListener,
  options: NodeLockWatchOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  if (typeof listener !== 'function') {
    throw new InvalidOptionError('listener', listener, 'a function (req, res, context) => void');
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new InvalidOptionError(
      'onError',
      options.onError,
      'a function (error, req, res) => void',
    );
  }
  const pipeline = toPipeline(source);
  const onError = options.onError ?? defaultOnError;
  const proceed = (req: IncomingMessage, res: ServerResponse, admission: Admission): void => {
    const { context, reply } = admission;
    finishWith(pipeline as HttpPipeline<never>, res, context);
    if (reply !== undefined) {
      sendReply(res, reply);
      return;
    }
    setHeaders(res, admission.headers);
    const result = listener(req, res, context);
    if (result instanceof Promise) result.catch((error: unknown) => onError(error, req, res));
  };
  return (req, res) => {
    const request = nodeRequest(req, req);
    const admitted = pipeline.admit(request);
    if (admitted instanceof Promise) {
      admitted
        .then(
          (admission) => proceed(req, res, admission),
          (error: unknown) => {
            // The response onError sends still ends the request's context.
            const context = contextOfFailedAdmission(request);
            if (context !== undefined) finishWith(pipeline as HttpPipeline<never>, res, context);
            throw error;
          },
        )
        .catch((error: unknown) => onError(error, req, res));
      return;
    }
    try {
      proceed(req, res, admitted);
    } catch (error) {
      onError(error, req, res);
    }
  };
}

export type * from './types.ts';
