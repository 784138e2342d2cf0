import type { FastifyContextConfig, FastifyPluginAsync } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Runtime } from '../../runtime.ts';
import { WebhookReceiver } from './receiver.ts';
import { WebhookSource } from './secrets.ts';

/** Options of {@link webhookRoutes}. */
export interface WebhookRoutesOptions {
  runtime: Runtime;
  /** Largest body accepted; larger ones get 413. @default 262144 (256 KiB) */
  bodyLimit?: number;
}

const header = (req: { headers: Record<string, string | string[] | undefined> }, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The 202 answer. */
export const WebhookAccepted = z.object({
  accepted: z.literal(true),
  deliveryId: z.string(),
  duplicate: z.boolean().describe('the delivery id was seen before: nothing was published this time'),
  outcome: z.enum(['queued', 'ignored']).describe('queued: events for actors or domain events are committed and on their way; ignored: recorded, nothing to do'),
  detail: z.string(),
});

/**
 * `POST /v1/webhooks/:source` (pipedrive, form, n8n), as an encapsulated Fastify
 * plugin: it keeps the raw body (its own content-type parser, `bodyLimit`),
 * verifies the delivery with the tenant's secret, deduplicates it by the source's
 * delivery id and answers 202 once what it leads to is committed
 * (docs/webhooks.md). The route takes no bearer token (`config.auth: false`):
 * the signature is the authentication. Refusals are thrown as errors with a
 * `statusCode` and a stable `code` for the gateway's problem+json handler.
 *
 * @example
 * await app.register(webhookRoutes, { runtime: rt });
 */
export const webhookRoutes: FastifyPluginAsync<WebhookRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const receiver = new WebhookReceiver(opts.runtime);
  const bodyLimit = opts.bodyLimit ?? 256 * 1024;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Only inside this plugin: every body stays the raw bytes the signature covers.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

  app.post(
    '/v1/webhooks/:source',
    {
      bodyLimit,
      config: { auth: false } as FastifyContextConfig,
      schema: {
        summary: 'Receive a webhook from Pipedrive, a form or n8n',
        description:
          'Signed with the tenant\'s secret for the source: `X-Cadre-Signature: sha256=<hex HMAC-SHA256 of the raw body>`, ' +
          'or, for Pipedrive, HTTP Basic auth `<tenant>:<secret>`. The tenant is named by `X-Cadre-Tenant` (or the Basic user name). ' +
          'Deduplicated by the source\'s delivery id (`X-Cadre-Delivery` where the payload has none). See docs/webhooks.md.',
        tags: ['webhooks'],
        security: [],
        params: z.object({ source: z.string().max(100).describe(`one of ${WebhookSource.options.join(', ')}`) }),
        response: { 202: WebhookAccepted },
      },
    },
    async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const result = await receiver.receive({
        source: request.params.source,
        raw,
        contentType: header(request, 'content-type'),
        tenant: header(request, 'x-cadre-tenant'),
        signature: header(request, 'x-cadre-signature'),
        authorization: header(request, 'authorization'),
        delivery: header(request, 'x-cadre-delivery'),
      });
      return reply.code(202).send(result);
    },
  );
};
