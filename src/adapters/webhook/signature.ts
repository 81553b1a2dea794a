/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): the
 * sender signs `<webhook-id>.<webhook-timestamp>.<body>` with HMAC-SHA256
 * under a `whsec_<base64>` secret and sends `webhook-signature: v1,<base64>`
 * (several space-separated signatures while a secret is rotated). Receivers
 * check the signature over the raw body bytes and refuse timestamps outside
 * a tolerance, which bounds replays.
 */

import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidOptionError } from '../../domain/config/errors.ts';
import { LockWatchError } from '../../domain/errors.ts';

/** Why {@link verifyWebhook} refused a request; `code` is stable. */
export class WebhookVerificationError extends LockWatchError {
  constructor(
    code:
      | 'webhook_missing_header'
      | 'webhook_bad_timestamp'
      | 'webhook_timestamp_out_of_range'
      | 'webhook_bad_signature',
    message: string,
  ) {
    super(code, message);
  }
}

/** A parsed signing secret. */
export interface WebhookSecret {
  /** The HMAC key bytes. */
  readonly key: Buffer;
}

const secretPrefix = 'whsec_';
const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Parses a `whsec_<base64>` secret (the key must be 24 to 64 bytes, as
 * Standard Webhooks asks). Throws InvalidOptionError naming `option`; the
 * message never contains the secret.
 */
export function parseWebhookSecret(secret: unknown, option = 'secret'): WebhookSecret {
  const accepted = "a Standard Webhooks secret 'whsec_<base64 of 24 to 64 random bytes>'";
  if (typeof secret !== 'string' || !secret.startsWith(secretPrefix)) {
    throw new InvalidOptionError(option, redact(secret), accepted);
  }
  const encoded = secret.slice(secretPrefix.length);
  if (encoded.length % 4 !== 0 || !base64Pattern.test(encoded)) {
    throw new InvalidOptionError(option, redact(secret), accepted);
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < 24 || key.length > 64) {
    throw new InvalidOptionError(option, redact(secret), accepted);
  }
  return Object.freeze({ key });
}

/** Makes a fresh random secret in the `whsec_` form (32 bytes). */
export function generateWebhookSecret(): string {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return secretPrefix + Buffer.from(bytes).toString('base64');
}

// Error messages name the option but must not print a secret.
function redact(value: unknown): unknown {
  return typeof value === 'string' ? `${value.slice(0, 6)}… (${value.length} characters)` : value;
}

/** The three Standard Webhooks headers of one delivery attempt. */
export interface WebhookHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

/**
 * Signs one attempt: `timestampSeconds` is the attempt's time (integer epoch
 * seconds); one `v1,` signature per secret, space-separated.
 */
export function signWebhook(
  secrets: readonly WebhookSecret[],
  id: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): WebhookHeaders {
  const timestamp = String(timestampSeconds);
  const signatures = secrets.map((secret) => `v1,${sign(secret.key, id, timestamp, body)}`);
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': signatures.join(' '),
  };
}

function sign(key: Buffer, id: string, timestamp: string, body: string | Uint8Array): string {
  const hmac = createHmac('sha256', key);
  hmac.update(`${id}.${timestamp}.`);
  hmac.update(body);
  return hmac.digest('base64');
}

/** Header access as Node (`IncomingHttpHeaders`), fetch (`Headers`) or a plain object gives it. */
export type HeaderSource =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** Options of {@link verifyWebhook}. */
export interface VerifyWebhookOptions {
  /** The endpoint's secret, or several while rotating (any one matching is enough). */
  readonly secret: string | readonly string[];
  /** The request headers. */
  readonly headers: HeaderSource;
  /** The raw request body, exactly as received (never re-serialized JSON). */
  readonly body: string | Uint8Array;
  /** Largest accepted distance between the timestamp and now, seconds; 300 by default. */
  readonly toleranceSeconds?: number | undefined;
  /** Now, epoch ms; `Date.now()` by default. */
  readonly now?: number | undefined;
}

/** What a verified request carried. */
export interface VerifiedWebhook<T = unknown> {
  /** The `webhook-id`: the same on every attempt of one alert; deduplicate on it. */
  readonly id: string;
  /** The attempt's `webhook-timestamp`, epoch seconds. */
  readonly timestamp: number;
  /** The parsed JSON body. */
  readonly payload: T;
}

/**
 * Verifies a Standard Webhooks request and returns its parsed payload.
 * Throws {@link WebhookVerificationError} when a header is missing, the
 * timestamp is malformed or outside the tolerance, or no signature matches.
 * Signatures are compared in constant time.
 */
export function verifyWebhook<T = unknown>(options: VerifyWebhookOptions): VerifiedWebhook<T> {
  const list = typeof options.secret === 'string' ? [options.secret] : options.secret;
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidOptionError('secret', options.secret, 'a whsec_ secret or a non-empty array');
  }
  const secrets = list.map((secret, index) =>
    parseWebhookSecret(secret, list.length === 1 ? 'secret' : `secret[${index}]`),
  );
  const id = header(options.headers, 'webhook-id');
  const timestampText = header(options.headers, 'webhook-timestamp');
  const signatureText = header(options.headers, 'webhook-signature');
  if (!/^\d{1,12}$/.test(timestampText)) {
    throw new WebhookVerificationError(
      'webhook_bad_timestamp',
      'webhook-timestamp is not integer epoch seconds.',
    );
  }
  const timestamp = Number(timestampText);
  const tolerance = options.toleranceSeconds ?? 300;
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(nowSeconds - timestamp) > tolerance) {
    throw new WebhookVerificationError(
      'webhook_timestamp_out_of_range',
      `webhook-timestamp is more than ${tolerance} s away from now.`,
    );
  }
  const given = signatureText
    .split(' ')
    .filter((part) => part.startsWith('v1,'))
    .map((part) => Buffer.from(part.slice(3), 'base64'));
  const matches = secrets.some((secret) => {
    const expected = Buffer.from(sign(secret.key, id, timestampText, options.body), 'base64');
    return given.some(
      (signature) => signature.length === expected.length && timingSafeEqual(signature, expected),
    );
  });
  if (!matches) {
    throw new WebhookVerificationError(
      'webhook_bad_signature',
      'No webhook-signature matches the body.',
    );
  }
  const text =
    typeof options.body === 'string' ? options.body : Buffer.from(options.body).toString('utf8');
  return { id, timestamp, payload: JSON.parse(text) as T };
}

function header(headers: HeaderSource, name: string): string {
  let value: string | readonly string[] | null | undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') {
    value = (headers as { get(name: string): string | null }).get(name);
  } else {
    const record = headers as Record<string, string | readonly string[] | undefined>;
    value = record[name];
    if (value === undefined) {
      // Field names are case-insensitive: gateways and frameworks hand over `Webhook-Id` too.
      for (const key of Object.keys(record)) {
        if (key.toLowerCase() === name) {
          value = record[key];
          break;
        }
      }
    }
  }
  if (Array.isArray(value)) value = value[0];
  if (typeof value !== 'string' || value === '') {
    throw new WebhookVerificationError('webhook_missing_header', `Header ${name} is missing.`);
  }
  return value;
}
