import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../../src/domain/config/redact.ts';

describe('redactUrl', () => {
  it('blanks the password however it is written, keeping user, host and path', () => {
    const cases: [string, string][] = [
      ['redis://:pw@127.0.0.1:6379/0', 'redis://***@127.0.0.1:6379/0'],
      ['redis://default:Ab3/xY9+kL@redis.internal:6379', 'redis://default:***@redis.internal:6379'],
      ['redis://u:a#b?c@h:1', 'redis://u:***@h:1'],
      ['postgres://app:p@ss@db:5432/app?sslmode=require', 'postgres://app:***@db:5432/app…'],
      ['postgres://db/app?password=secret', 'postgres://db/app…'],
      ['redis://token@h', 'redis://***@h'],
      ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
      ['sqlite:./data/x.db', 'sqlite:./data/x.db'],
    ];
    for (const [url, shown] of cases) expect(redactUrl(url), url).toBe(shown);
  });

  it("with keep: 'host', shows scheme and host only (webhook tokens live in paths)", () => {
    expect(redactUrl('https://hooks.slack.com/services/T0/B0/SECRET', 'host')).toBe(
      'https://hooks.slack.com…',
    );
    expect(redactUrl('https://bot:pw@h.example/in?token=x', 'host')).toBe(
      'https://bot:***@h.example…',
    );
    expect(redactUrl('https://h.example', 'host')).toBe('https://h.example');
  });
});
