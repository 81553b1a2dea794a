import { describe, expect, it } from 'vitest';
import {
  holds,
  postgresColumnType,
  sqliteColumnType,
} from '../../../src/adapters/sql/column-types.ts';

describe('column type families', () => {
  it("sorts SQLite declared types by SQLite's affinity rules", () => {
    for (const type of ['bigint', 'INTEGER', 'int', 'double', 'real', 'boolean', 'numeric(10,2)']) {
      expect(sqliteColumnType(type), type).toEqual({ family: 'number' });
    }
    for (const type of ['text', 'TEXT', 'varchar(64)', 'character varying', 'clob']) {
      expect(sqliteColumnType(type), type).toEqual({ family: 'text' });
    }
    for (const type of ['blob', ''])
      expect(sqliteColumnType(type), type).toEqual({ family: 'blob' });
  });

  it('sorts PostgreSQL types as migrations declare them and as format_type() shows them', () => {
    expect(postgresColumnType('varchar(64)')).toEqual(postgresColumnType('character varying(64)'));
    expect(postgresColumnType('int')).toEqual(postgresColumnType('integer'));
    expect(postgresColumnType('bigint')).toEqual({ family: 'integer', size: 8 });
    expect(postgresColumnType('double precision')).toEqual({ family: 'float', size: 8 });
    expect(postgresColumnType('numeric(12,3)')).toEqual({ family: 'numeric' });
    expect(postgresColumnType('character(10)')).toEqual({ family: 'text', size: 10 });
    for (const type of ['text[]', 'jsonb', 'my_domain']) {
      expect(postgresColumnType(type), type).toEqual({ family: 'other' });
    }
  });

  it('accepts a type of the same family at least as large, nothing else', () => {
    const pg = postgresColumnType;
    expect(holds(pg('smallint'), pg('integer'))).toBe(true);
    expect(holds(pg('bigint'), pg('integer'))).toBe(false);
    expect(holds(pg('double precision'), pg('real'))).toBe(false);
    expect(holds(pg('double precision'), pg('numeric'))).toBe(false);
    expect(holds(pg('varchar(64)'), pg('text'))).toBe(true);
    expect(holds(pg('varchar(64)'), pg('varchar(128)'))).toBe(true);
    expect(holds(pg('varchar(64)'), pg('varchar(32)'))).toBe(false);
    expect(holds(pg('text'), pg('varchar(255)'))).toBe(false);
    expect(holds(pg('uuid'), pg('text'))).toBe(false);
    expect(holds(pg('boolean'), pg('smallint'))).toBe(false);
    expect(holds(pg('text'), pg('bytea'))).toBe(false);
    const lite = sqliteColumnType;
    expect(holds(lite('bigint'), lite('integer'))).toBe(true);
    expect(holds(lite('double'), lite('bigint'))).toBe(true);
    expect(holds(lite('text'), lite('varchar(10)'))).toBe(true);
    expect(holds(lite('text'), lite('integer'))).toBe(false);
    expect(holds(lite('bigint'), lite('text'))).toBe(false);
    expect(holds(lite('text'), lite('blob'))).toBe(false);
  });
});
