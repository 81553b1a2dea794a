/**
 * `lockwatch/webhook`: the webhook AlertSink on undici (an optional peer
 * dependency, loaded when the first sink is created) and the Standard
 * Webhooks signing helpers receivers use to verify deliveries.
 */
export {
  generateWebhookSecret,
  type HeaderSource,
  parseWebhookSecret,
  signWebhook,
  type VerifiedWebhook,
  type VerifyWebhookOptions,
  verifyWebhook,
  type WebhookHeaders,
  type WebhookSecret,
  WebhookVerificationError,
} from './signature.ts';
export {
  createWebhookAlertSink,
  type WebhookAlertSink,
  type WebhookAlertSinkOptions,
  type WebhookBackoffOptions,
  WebhookClientMissingError,
  type WebhookEndpointCounts,
  type WebhookEndpointOptions,
  type WebhookEndpointStatus,
  type WebhookEvent,
  type WebhookFailureReason,
  WebhookQueueError,
} from './sink.ts';
