import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { ZodError } from 'zod';
import type { Runtime } from '../runtime.ts';
import { ApiError, TITLES } from './errors.ts';
import { bearer } from './auth.ts';
import { Tokens } from './tokens.ts';
import { OperatorError } from '../operator.ts';
import { ApprovalError, ProposalError } from '../gate/index.ts';
import { ReadQueryError } from '../read/index.ts';
import { SendTimeoutError } from '../send.ts';

/** What `buildGateway` takes besides the runtime. */
export interface GatewayOptions {
  /** The instance admin's token. */
  adminToken: string | null;
}

/** Route plugins get this. */
export interface RouteOptions {
  runtime: Runtime;
  tokens: Tokens;
}

/**
 * The REST gateway: Fastify with zod schemas for params, query, body and
 * responses (the same schemas make the OpenAPI document at /docs), bearer-token
 * authentication, and every error as `application/problem+json` with a stable
 * code and the request id. Routes live in runtime/gateway/routes/.
 * @example const app = await buildGateway(rt, { adminToken }); await app.listen({ port: 3000 });
 */
export async function buildGateway(rt: Runtime, opts: GatewayOptions, routes: ((app: FastifyInstance, o: RouteOptions) => Promise<void>)[] = []): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: rt.log.child({ component: 'gateway' }) as FastifyBaseLogger,
    bodyLimit: rt.config.maxMessageBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // The router refuses some URLs before any route runs (bad percent-encoding, an
    // overlong segment): those are problems too.
    frameworkErrors: (err, request, raw) => {
      const reply = raw as unknown as { header(k: string, v: string): unknown; status(n: number): { type(t: string): { send(b: unknown): unknown } } };
      reply.header('x-request-id', request.id);
      const status = err.statusCode ?? 400;
      const code = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'uri_too_long' : 'bad_url';
      void reply
        .status(status)
        .type('application/problem+json')
        .send({ type: `https://cadre.dev/problems/${code}`, title: TITLES[status] ?? 'Error', status, code, detail: err.message, instance: request.url, requestId: request.id });
    },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const tokens = new Tokens(rt.db, rt.clock, opts.adminToken);

  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (request.routeOptions.config?.auth === false || !request.routeOptions.url) return;
    const secret = bearer(request);
    const auth = secret ? await tokens.verify(secret) : null;
    if (!auth) throw new ApiError(401, 'unauthorized', secret ? 'the token is unknown or revoked' : 'a bearer token is needed: Authorization: Bearer <token>');
    request.auth = auth;
  });

  app.setErrorHandler((err: FastifyError & { extra?: Record<string, unknown> }, request, reply) => {
    const p = problemOf(err);
    if (p.status >= 500) request.log.error({ err }, 'request failed');
    void reply
      .status(p.status)
      .type('application/problem+json')
      .send({ type: `https://cadre.dev/problems/${p.code}`, title: TITLES[p.status] ?? 'Error', status: p.status, code: p.code, detail: p.detail, instance: request.url, requestId: request.id, ...p.extra });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .type('application/problem+json')
      .send({ type: 'https://cadre.dev/problems/not_found', title: 'Not Found', status: 404, code: 'not_found', detail: `no route ${request.method} ${request.url.split('?')[0]}`, instance: request.url, requestId: request.id });
  });

  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...(route.config as object), auth: false };
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Cadre', version: '1', description: 'The Cadre REST gateway. Errors are application/problem+json with a stable `code`.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
  for (const r of routes) await app.register(async (scope) => r(scope as unknown as FastifyInstance, { runtime: rt, tokens }));
  return app as unknown as FastifyInstance;
}

/** An error as a problem: status, stable code, detail. */
export function problemOf(err: unknown): { status: number; code: string; detail: string; extra?: Record<string, unknown> } {
  const e = err as FastifyError & { extra?: Record<string, unknown>; code?: string };
  if (hasZodFastifySchemaValidationErrors(e)) {
    const issues = e.validation.map((v) => ({ path: `${e.validationContext ?? ''}${v.instancePath}`, message: v.message }));
    return { status: 400, code: 'invalid_request', detail: issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; '), extra: { issues } };
  }
  if (err instanceof ZodError) return { status: 400, code: 'invalid_request', detail: err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  if (err instanceof ApiError) return { status: err.statusCode, code: err.code, detail: err.message, extra: err.extra };
  if (err instanceof OperatorError) return { status: err.code === 'not_found' ? 404 : 409, code: err.code, detail: err.message };
  if (err instanceof ApprovalError || err instanceof ProposalError) return { status: err.code === 'not_found' ? 404 : 409, code: err.code, detail: err.message };
  if (err instanceof ReadQueryError) return { status: 400, code: 'invalid_query', detail: err.message };
  if (err instanceof SendTimeoutError) return { status: 504, code: 'send_timeout', detail: `${err.message}; the event was sent and may still be applied` };
  if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = FASTIFY_CODES[e.code ?? ''] ?? (typeof e.code === 'string' && /^[a-z_]+$/.test(e.code) ? e.code : 'bad_request');
    return { status: e.statusCode, code, detail: e.message };
  }
  return { status: 500, code: 'internal', detail: 'the gateway failed on this request; it is logged with the request id' };
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_VALIDATION: 'invalid_request',
};
