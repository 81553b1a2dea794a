import { describe, expect, it } from 'vitest';
import {
  generateWebhookSecret,
  parseWebhookSecret,
  signWebhook,
  verifyWebhook,
} from '../../../src/adapters/webhook/signature.ts';

// The Standard Webhooks specification's published example.
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const timestamp = 1614265330;
const body = '{"test": 2432232314}';
const signature = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const now = timestamp * 1000;

function headers(overrides: Record<string, string | undefined> = {}) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
    ...overrides,
  };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as { code: string }).code;
  }
  return 'none';
}

describe('Standard Webhooks signatures', () => {
  it('matches the specification example', () => {
    expect(signWebhook([parseWebhookSecret(secret)], id, timestamp, body)).toEqual(headers());
    expect(verifyWebhook({ secret, headers: headers(), body, now })).toEqual({
      id,
      timestamp,
      payload: { test: 2432232314 },
    });
    expect(
      verifyWebhook({ secret, headers: new Headers(headers()), body: Buffer.from(body), now }).id,
    ).toBe(id);
    // A plain record with names as a gateway spells them.
    const spelt = Object.fromEntries(
      Object.entries(headers()).map(([name, value]) => [
        name.replace(/(^|-)[a-z]/g, (c) => c.toUpperCase()),
        value,
      ]),
    );
    expect(Object.keys(spelt)).toContain('Webhook-Id');
    expect(verifyWebhook({ secret, headers: spelt, body, now }).id).toBe(id);
  });

  it('accepts any matching signature among several, and any of several secrets', () => {
    const other = generateWebhookSecret();
    const multi = headers({ 'webhook-signature': `v2,abc v1,AAAA ${signature}` });
    expect(verifyWebhook({ secret, headers: multi, body, now }).id).toBe(id);
    expect(verifyWebhook({ secret: [other, secret], headers: headers(), body, now }).id).toBe(id);
  });

  it('refuses a changed body, id or timestamp, another secret, and missing headers', () => {
    expect(code(() => verifyWebhook({ secret, headers: headers(), body: `${body} `, now }))).toBe(
      'webhook_bad_signature',
    );
    expect(
      code(() => verifyWebhook({ secret, headers: headers({ 'webhook-id': 'msg_x' }), body, now })),
    ).toBe('webhook_bad_signature');
    expect(
      code(() =>
        verifyWebhook({
          secret,
          headers: headers({ 'webhook-timestamp': String(timestamp + 1) }),
          body,
          now,
        }),
      ),
    ).toBe('webhook_bad_signature');
    expect(
      code(() => verifyWebhook({ secret: generateWebhookSecret(), headers: headers(), body, now })),
    ).toBe('webhook_bad_signature');
    expect(
      code(() =>
        verifyWebhook({ secret, headers: headers({ 'webhook-signature': undefined }), body, now }),
      ),
    ).toBe('webhook_missing_header');
    expect(
      code(() =>
        verifyWebhook({ secret, headers: headers({ 'webhook-timestamp': '1e9' }), body, now }),
      ),
    ).toBe('webhook_bad_timestamp');
  });

  it('refuses timestamps outside the tolerance (replays)', () => {
    expect(
      code(() => verifyWebhook({ secret, headers: headers(), body, now: now + 301_000 })),
    ).toBe('webhook_timestamp_out_of_range');
    expect(
      code(() => verifyWebhook({ secret, headers: headers(), body, now: now - 301_000 })),
    ).toBe('webhook_timestamp_out_of_range');
    expect(
      verifyWebhook({
        secret,
        headers: headers(),
        body,
        now: now + 3_600_000,
        toleranceSeconds: 3600,
      }).id,
    ).toBe(id);
  });

  it('validates secrets: whsec_ prefix, base64, 24 to 64 bytes', () => {
    expect(parseWebhookSecret(generateWebhookSecret()).key).toHaveLength(32);
    for (const bad of [
      'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'whsec_not base64!',
      'whsec_c2hvcnQ=',
      42,
    ]) {
      expect(code(() => parseWebhookSecret(bad))).toBe('invalid_option');
    }
  });
});
