import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contentLengthOf, isWebSocketUpgrade, upgradeResponseHead } from './headers.js';

const raw = (...pairs: string[]): Buffer[] => pairs.map((s) => Buffer.from(s, 'latin1'));

describe('contentLengthOf (the upstream response head, as undici gives it)', () => {
  it('reads the first Content-Length of any case; -1 when absent or not plain decimal digits', () => {
    expect(contentLengthOf(raw('Content-Type', 'text/plain', 'Content-Length', '100'))).toBe(100);
    expect(contentLengthOf(raw('CONTENT-LENGTH', '00'))).toBe(0);
    expect(contentLengthOf(raw('content-length', '7', 'content-length', '7'))).toBe(7);
    expect(contentLengthOf([])).toBe(-1);
    expect(contentLengthOf(raw('x-content-length', '5'))).toBe(-1);
    for (const bad of ['', ' 1', '1 ', '+1', '-1', '1e3', '0x10', '1.5', '1234567890123456'])
      expect(contentLengthOf(raw('content-length', bad)), JSON.stringify(bad)).toBe(-1);
  });

  it('property: any head gives -1 or the safe integer the first Content-Length spells', () => {
    const name = fc.oneof(
      fc.constantFrom(
        'content-length',
        'Content-Length',
        'CONTENT-length',
        'content-lengtH',
        'content_length',
      ),
      fc.string({ maxLength: 20 }),
    );
    const value = fc.oneof(fc.stringMatching(/^\d{1,17}$/), fc.string({ maxLength: 20 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 8 }), (pairs) => {
        const got = contentLengthOf(raw(...pairs.flat()));
        const first = pairs.find(
          ([n]) => Buffer.from(n, 'latin1').toString('latin1').toLowerCase() === 'content-length',
        );
        if (first === undefined || !/^\d{1,15}$/.test(Buffer.from(first[1], 'latin1').toString('latin1'))) {
          expect(got).toBe(-1);
        } else {
          expect(Number.isSafeInteger(got) && got >= 0).toBe(true);
          expect(got).toBe(Number(Buffer.from(first[1], 'latin1').toString('latin1')));
        }
      }),
      { examples: [[[['Content-Length', '0012']]], [[['content-length', '9'.repeat(16)]]]] },
    );
  });
});

describe('WebSocket upgrade headers (only the upgrade path keeps Upgrade / Connection: Upgrade)', () => {
  it('keeps Upgrade and Sec-WebSocket-*, answers Connection: Upgrade, drops the other hop-by-hop ones', () => {
    const head = upgradeResponseHead(
      raw(
        'Upgrade',
        'websocket',
        'Connection',
        'Upgrade, X-Secret',
        'Sec-WebSocket-Accept',
        's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
        'Sec-WebSocket-Protocol',
        'chat',
        'Keep-Alive',
        'timeout=5',
        'X-Secret',
        'hop',
      ),
    );
    expect(
      head.startsWith('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n'),
    ).toBe(true);
    expect(head).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n');
    expect(head).toContain('Sec-WebSocket-Protocol: chat\r\n');
    expect(head).not.toMatch(/keep-alive|x-secret/i);
    expect(head.endsWith('\r\n\r\n')).toBe(true);
  });

  it('recognises a WebSocket handshake: GET with an Upgrade token websocket, any case', () => {
    expect(isWebSocketUpgrade('GET', ['Upgrade', 'WebSocket'])).toBe(true);
    expect(isWebSocketUpgrade('GET', ['upgrade', 'foo, websocket'])).toBe(true);
    expect(isWebSocketUpgrade('POST', ['Upgrade', 'websocket'])).toBe(false);
    expect(isWebSocketUpgrade('GET', ['Upgrade', 'h2c'])).toBe(false);
    expect(isWebSocketUpgrade('GET', ['X-Upgrade', 'websocket'])).toBe(false);
  });
});
