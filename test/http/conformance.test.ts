import { httpConformance } from '../contracts/http/index.ts';
import {
  expressFactory,
  fastifyFactory,
  fastifyHttp2Factory,
  honoFactory,
  honoHttp2Factory,
  nodeFactory,
  nodeHttp2Factory,
} from './servers.ts';

httpConformance('express', expressFactory);
httpConformance('fastify', fastifyFactory);
httpConformance('hono', honoFactory);
httpConformance('node:http', nodeFactory);
// Express 5 does not run on Node's HTTP/2 compatibility API (docs/http.md, HTTP/2).
httpConformance('fastify', fastifyHttp2Factory, 'h2c');
httpConformance('hono', honoHttp2Factory, 'h2c');
httpConformance('node:http2', nodeHttp2Factory, 'h2c');
