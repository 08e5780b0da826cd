import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { missingDatabaseHint } from './database.js';

describe('missingDatabaseHint', () => {
  it("names createdb with the URL's host, port, user and database when Postgres says it is missing", () => {
    const cause = Object.assign(new Error('database "shop" does not exist'), { code: '3D000' });
    const error = new Error('migration failed', { cause });
    expect(missingDatabaseHint(error, 'postgresql://kong@db.internal:6432/shop')).toBe(
      ' (create it first: createdb -h db.internal -p 6432 -U kong shop)',
    );
  });

  it("recognises the schema engine's wording", () => {
    expect(
      missingDatabaseHint(
        new Error('Database `gatehouse` does not exist'),
        'postgresql://127.0.0.1/gatehouse',
      ),
    ).toBe(' (create it first: createdb -h 127.0.0.1 gatehouse)');
  });

  it('says nothing for other errors, or on the embedded database', () => {
    expect(missingDatabaseHint(new Error('password authentication failed'), 'postgresql://127.0.0.1/x')).toBe(
      '',
    );
    expect(missingDatabaseHint(new Error('Database `x` does not exist'), undefined)).toBe('');
  });

  it('never throws, whatever the error and URL', () => {
    fc.assert(
      fc.property(fc.anything(), fc.string(), (error, url) => {
        expect(typeof missingDatabaseHint(error, url)).toBe('string');
      }),
    );
  });
});
