import { httpConformance } from '../contracts/http/index.ts';
import { expressFactory, fastifyFactory, honoFactory, nodeFactory } from './servers.ts';

httpConformance('express', expressFactory);
httpConformance('fastify', fastifyFactory);
httpConformance('hono', honoFactory);
httpConformance('node:http', nodeFactory);
