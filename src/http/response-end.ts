/**
 * Tells the pipeline when a Node response ends, with no listener per request.
 * A listener pair on every response (what `res.on('finish')` or Fastify's
 * `onResponse` hook costs) measured at several µs per request; instead, Node
 * publishes each finished HTTP/1 response on the `http.server.response.finish`
 * diagnostics channel, and one `close` listener per connection reports the
 * responses still open when the client hangs up (aborted, 499). Responses
 * Node does not publish (the HTTP/2 compatibility API) get listeners.
 */
import { subscribe } from 'node:diagnostics_channel';
import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpPipeline, LockWatchContext } from './types.ts';

const finishChannel = 'http.server.response.finish';
const kContext = Symbol('lockwatch.context');
const kPipeline = Symbol('lockwatch.pipeline');
const kOpen = Symbol('lockwatch.open-responses');

interface Tracked extends ServerResponse {
  [kContext]?: LockWatchContext | undefined;
  [kPipeline]?: HttpPipeline<never> | undefined;
}

interface TrackedSocket extends Socket {
  [kOpen]?: Set<Tracked> | undefined;
}

interface FinishMessage {
  readonly response: Tracked;
  readonly socket?: TrackedSocket | null;
}

let subscribed = false;

/** Ends the response's context once; true when it had one. */
function end(response: Tracked, aborted: boolean): boolean {
  const context = response[kContext];
  if (context === undefined) return false;
  const pipeline = response[kPipeline]!;
  response[kContext] = undefined;
  response[kPipeline] = undefined;
  pipeline.finish(context, response.statusCode, aborted);
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
  for (const response of open) end(response, !response.writableFinished);
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
    pipeline.finish(context, res.statusCode, !res.writableFinished);
    return;
  }
  const socket = res.socket as TrackedSocket | null;
  if (!(res instanceof ServerResponse) || socket === null) {
    listenTo(pipeline, res, context);
    return;
  }
  if (!subscribed) {
    subscribe(finishChannel, onFinish);
    subscribed = true;
  }
  const tracked = res as Tracked;
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
    pipeline.finish(context, res.statusCode, !res.writableFinished);
  };
  res.on('finish', done);
  res.on('close', done);
}
