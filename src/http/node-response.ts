/** Shared by the adapters that write to a Node `ServerResponse` (Express, node:http). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathOf } from './request.ts';
import type { HttpReply, HttpRequest } from './types.ts';

/** The framework-neutral view of a Node request; `path` from `url` (Express passes `originalUrl`). */
export function nodeRequest<N>(req: IncomingMessage, raw: N, url = req.url): HttpRequest<N> {
  return {
    method: req.method ?? 'GET',
    path: pathOf(url),
    remoteAddress: req.socket?.remoteAddress,
    headers: req.headers,
    raw,
  };
}

/** Sets the pipeline's headers on a response that the handler will write. */
export function setHeaders(res: ServerResponse, headers: Readonly<Record<string, string>>): void {
  for (const name in headers) res.setHeader(name, headers[name]!);
}

/** Sends a pipeline reply, unless something already started the response. */
export function sendReply(res: ServerResponse, reply: HttpReply): void {
  if (res.headersSent) return;
  res.writeHead(reply.status, reply.headers);
  res.end(reply.body);
}
