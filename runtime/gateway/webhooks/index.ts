/**
 * runtime/gateway/webhooks: `POST /v1/webhooks/{pipedrive|form|n8n}` (docs/webhooks.md).
 * The gateway mounts `webhookRoutes`; admin routes and the CLI manage secrets with `WebhookSecrets`.
 */
export { webhookRoutes, WebhookAccepted, type WebhookRoutesOptions } from './routes.ts';
export { WebhookReceiver, type WebhookRequest, type WebhookResult } from './receiver.ts';
export { WebhookSecrets, WebhookSource, WebhookSecret, DEFAULT_ROTATION_GRACE_MS, type WebhookSecretInfo } from './secrets.ts';
export { WebhookError, WebhookSecretError, type WebhookErrorCode } from './errors.ts';
export { sign, verifySignature, verifyPassword, parseBasic, SIGNATURE_HEADER } from './verify.ts';
export { mapDelivery, deliveryIdOf, deliveryRef, type Plan, type ActorCommand, type EventCommand, type MapInput } from './map.ts';
export { toEvent, InvalidDomainEventError, type ExternalEvent } from './events.ts';
