import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUDIT_FILTERS, auditPath, prettyJson } from './audit';

describe('audit log queries', () => {
  it('asks for a page with only the log’s own non-empty filters', () => {
    expect(auditPath('requests', { method: 'POST', dao_name: 'services', status: ' ' })).toBe(
      '/audit/requests?size=25&method=POST',
    );
    expect(auditPath('objects', { dao_name: 'routes', operation: 'delete' }, 10)).toBe(
      '/audit/objects?size=10&dao_name=routes&operation=delete',
    );
  });

  it('sends only known arguments, each once, whatever the filters hold', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('requests' as const, 'objects' as const),
        fc.dictionary(fc.string(), fc.string()),
        (log, filters) => {
          const url = new URL(auditPath(log, filters), 'http://x');
          const keys = [...url.searchParams.keys()];
          expect(new Set(keys).size).toBe(keys.length);
          for (const k of keys) expect(['size', ...AUDIT_FILTERS[log]]).toContain(k);
          expect(url.pathname).toBe(`/audit/${log}`);
        },
      ),
    );
  });

  it('indents JSON text and keeps anything else as it is', () => {
    expect(prettyJson('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyJson('not json')).toBe('not json');
    expect(prettyJson(null)).toBe('');
  });
});
