/**
 * Why a webhook was refused. Thrown with a numeric `statusCode` and a stable
 * `code`, which the gateway's error handler answers as `application/problem+json`
 * (docs/webhooks.md lists the codes). Nothing is published and nothing is
 * recorded for a refused delivery; the sender may retry it once it is fixed.
 */
export class WebhookError extends Error {
  /** 4xx: the sender must change something before retrying. */
  readonly retryable = false;
  constructor(
    readonly statusCode: number,
    readonly code: WebhookErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WebhookError';
  }
}

/** The stable codes of refused webhooks. */
export type WebhookErrorCode =
  /** 404: the source is not pipedrive, form or n8n. */
  | 'unknown_source'
  /** 400: no tenant named (`X-Cadre-Tenant`, or Pipedrive's Basic user name). */
  | 'tenant_required'
  /** 400: the tenant named is not a tenant name. */
  | 'invalid_tenant'
  /** 401: no webhook secret is set for this tenant and source. */
  | 'unknown_tenant'
  /** 401: no `X-Cadre-Signature` (or, for Pipedrive, no Basic credentials). */
  | 'missing_signature'
  /** 401: the signature or the credentials do not match the tenant's secret. */
  | 'bad_signature'
  /** 400: the body is not JSON (or, for forms, not url-encoded) of the source's shape. */
  | 'invalid_payload'
  /** 415: the body is neither JSON nor (forms only) url-encoded. */
  | 'unsupported_media_type';

/** Usage errors of {@link WebhookSecrets}: a bad source, tenant or secret. */
export class WebhookSecretError extends Error {
  readonly code = 'invalid_webhook_secret';
  constructor(message: string) {
    super(message);
    this.name = 'WebhookSecretError';
  }
}
