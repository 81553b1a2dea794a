/**
 * Tells the pipeline when a Node response ends, with no listener per request.
 * A listener pair on every response (what `res.on('finish')` or Fastify's
 * `onResponse` hook costs) measured at several µs per request; instead, Node
 * publishes each finished HTTP/1 response on the `http.server.response.finish`
 * diagnostics channel, and one `close` listener per connection reports the
 * responses still open when the client hangs up (aborted, 499). Responses
 * Node does not publish (the HTTP/2 compatibility API) get listeners.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpPipeline, LockWatchContext } from './types.ts';

// Node's modules are fetched when the first response is tracked, not imported: the Hono adapter
// uses this module on @hono/node-server and must still load where there is no node:http.
let httpResponse: typeof ServerResponse | undefined;

const finishChannel = 'http.server.response.finish';
const kContext = Symbol('lockwatch.context');
const kPipeline = Symbol('lockwatch.pipeline');
const kMore = Symbol('lockwatch.more-contexts');
const kOpen = Symbol('lockwatch.open-responses');

interface Tracked extends ServerResponse {
  [kContext]?: LockWatchContext | undefined;
  [kPipeline]?: HttpPipeline<never> | undefined;
  /** Contexts of further pipelines on the same response (two LockWatch middlewares on a route). */
  [kMore]?: [HttpPipeline<never>, LockWatchContext][] | undefined;
}

interface TrackedSocket extends Socket {
  [kOpen]?: Set<Tracked> | undefined;
}

interface FinishMessage {
  readonly response: Tracked;
  readonly socket?: TrackedSocket | null;
}

let subscribed = false;

/**
 * Whether a response that ended was cut short: the server never called
 * `end()`. (An HTTP/2 response whose stream the client reset reports
 * `writableFinished` and emits `finish` all the same.)
 */
function wasAborted(response: ServerResponse): boolean {
  return !response.writableEnded;
}

/** Ends the response's contexts once; true when it had one. */
function end(response: Tracked, aborted: boolean): boolean {
  const context = response[kContext];
  if (context === undefined) return false;
  const pipeline = response[kPipeline]!;
  const more = response[kMore];
  response[kContext] = undefined;
  response[kPipeline] = undefined;
  response[kMore] = undefined;
  pipeline.finish(context, response.statusCode, aborted);
  if (more !== undefined) {
    for (const [other, otherContext] of more)
      other.finish(otherContext, response.statusCode, aborted);
  }
  return true;
}

function onFinish(message: unknown): void {
  const { response, socket } = message as FinishMessage;
  if (end(response, false))
    (socket ?? (response.socket as TrackedSocket | null))?.[kOpen]?.delete(response);
}

function onSocketClose(this: TrackedSocket): void {
  const open = this[kOpen];
  if (open === undefined) return;
  this[kOpen] = undefined;
  for (const response of open) end(response, wasAborted(response));
}

/**
 * Reports the end of the response to the pipeline once: when it finishes,
 * or when the connection closes before that (the client went away: aborted).
 * Also when either already happened, as it can while the pipeline awaited
 * its store.
 */
export function finishWith(
  pipeline: HttpPipeline<never>,
  res: ServerResponse,
  context: LockWatchContext,
): void {
  if (res.writableFinished || res.destroyed) {
    pipeline.finish(context, res.statusCode, wasAborted(res));
    return;
  }
  const socket = res.socket as TrackedSocket | null;
  httpResponse ??= process.getBuiltinModule('node:http').ServerResponse;
  if (!(res instanceof httpResponse) || socket === null) {
    listenTo(pipeline, res, context);
    return;
  }
  if (!subscribed) {
    process.getBuiltinModule('node:diagnostics_channel').subscribe(finishChannel, onFinish);
    subscribed = true;
  }
  const tracked = res as Tracked;
  if (tracked[kContext] !== undefined) {
    // Already tracked for another pipeline (and so in its socket's set): end both together.
    tracked[kMore] ??= [];
    tracked[kMore].push([pipeline, context]);
    return;
  }
  tracked[kContext] = context;
  tracked[kPipeline] = pipeline;
  let open = socket[kOpen];
  if (open === undefined) {
    open = new Set();
    socket[kOpen] = open;
    socket.once('close', onSocketClose);
  }
  open.add(tracked);
}

/** The per-request listeners, for responses Node does not publish. */
function listenTo(
  pipeline: HttpPipeline<never>,
  res: ServerResponse,
  context: LockWatchContext,
): void {
  const done = () => {
    res.off('finish', done);
    res.off('close', done);
    pipeline.finish(context, res.statusCode, wasAborted(res));
  };
  res.on('finish', done);
  res.on('close', done);
}
