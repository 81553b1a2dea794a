import { describe, expect, it } from 'vitest';
import { comparablePath, lowerPath, pathMatcher, routablePath } from '../../src/http/routes.ts';

describe('routablePath', () => {
  it('decodes escapes once as decodeURI does, keeping reserved characters encoded', () => {
    expect(routablePath('/%61dmin')).toBe('/admin');
    expect(routablePath('/caf%C3%A9')).toBe('/café');
    expect(routablePath('/a%2Fb')).toBe('/a%2Fb');
    expect(routablePath('/%2561dmin')).toBe('/%61dmin');
  });

  it('keeps malformed escapes as they are and decodes the valid ones', () => {
    expect(routablePath('/%zz/%61dmin')).toBe('/%zz/admin');
    expect(routablePath('/%E0%A4%A/%61')).toBe('/%E0%A4%A/a');
    expect(routablePath('/%')).toBe('/%');
  });

  it('collapses runs of slashes and drops a ; suffix', () => {
    expect(routablePath('//admin///users')).toBe('/admin/users');
    expect(routablePath('/admin;jsessionid=1')).toBe('/admin');
    expect(routablePath(';x')).toBe('/');
  });

  it('leaves an ordinary path as it is', () => {
    const path = '/api/v1/Users';
    expect(routablePath(path)).toBe(path);
  });
});

describe('comparablePath', () => {
  it('lower-cases the routable path and drops one trailing slash', () => {
    expect(comparablePath('/%41DMIN/')).toBe('/admin');
    expect(comparablePath('/')).toBe('/');
  });
});

describe('lowerPath', () => {
  it('lower-cases and drops one trailing slash without decoding', () => {
    expect(lowerPath('/%2561DMIN/')).toBe('/%2561dmin');
    expect(comparablePath('/%2561dmin')).toBe('/%61dmin');
  });
});

describe('pathMatcher', () => {
  it('tests a RegExp on the routable path, case kept', () => {
    const match = pathMatcher('path', /^\/Reports\/\d+$/);
    expect(match(comparablePath('/Reports/%31'), routablePath('/Reports/%31'))).toBe(true);
    expect(match(comparablePath('/reports/1'), routablePath('/reports/1'))).toBe(false);
  });
});
