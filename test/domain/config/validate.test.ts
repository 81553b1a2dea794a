import { describe, expect, it } from 'vitest';
import { InvalidOptionError, renameOptionError } from '../../../src/domain/config/errors.ts';
import { type KeyShape, knownKeysOption } from '../../../src/domain/config/validate.ts';

const shape: KeyShape = {
  routes: true,
  trustProxy: true,
  hooks: { onFinish: true, beforeLimit: true },
};

function thrown(run: () => void): InvalidOptionError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return error as InvalidOptionError;
  }
  throw new Error('accepted');
}

describe('knownKeysOption', () => {
  it('accepts known keys at every level, and values that are not plain objects', () => {
    knownKeysOption('http', { routes: [{ anything: 1 }], hooks: { onFinish: [] } }, shape);
    knownKeysOption('http', { hooks: false }, shape);
    knownKeysOption('http', undefined, shape);
    knownKeysOption('http', [1, 2], shape);
  });

  it('names an unknown key by its full path and suggests the one meant', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ rotues: [] }, 'http.rotues', /did you mean http\.routes\?/],
      [{ trustproxy: 1 }, 'http.trustproxy', /did you mean http\.trustProxy\?/],
      [
        { hooks: { onFinsh: () => {} } },
        'http.hooks.onFinsh',
        /did you mean http\.hooks\.onFinish\?/,
      ],
      [
        { guard: () => {} },
        'http.guard',
        /no such option; known here: routes, trustProxy, hooks\.$/,
      ],
    ];
    for (const [value, option, message] of cases) {
      const error = thrown(() => knownKeysOption('http', value, shape));
      expect(error.option).toBe(option);
      expect(error.message).toMatch(message);
    }
    expect(thrown(() => knownKeysOption('', { rotues: 1 }, shape)).message).toMatch(
      /^Invalid option rotues: got 1; expected no such option \(did you mean routes\?\)/,
    );
  });

  it('does not show a string under an unknown key: it may be a secret', () => {
    const error = thrown(() => knownKeysOption('tokens', { secrett: 'hunter2' }, { secret: true }));
    expect(error.message).not.toContain('hunter2');
    expect(error.value).toBe('(not shown)');
  });
});

describe('renameOptionError', () => {
  it('keeps what is accepted and the original as the cause', () => {
    const inner = new InvalidOptionError('batchSize', 0, 'an integer from 1 to 10000');
    const renamed = renameOptionError(inner, 'audit.batchSize');
    expect(renamed.message).toBe(
      'Invalid option audit.batchSize: got 0; expected an integer from 1 to 10000.',
    );
    expect(renamed.cause).toBe(inner);
    expect(renameOptionError(inner, 'LOCKWATCH_X', '0s').message).toMatch(/got "0s"/);
  });
});
