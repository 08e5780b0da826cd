/**
 * The test corpora (corpus/benign.txt, corpus/attacks.txt) as requests for the engine: a value
 * goes where its section says (a query argument, the path, a JSON or form body, a header, a
 * text body). Test support only.
 */
import { readFileSync } from 'node:fs';
import { schema } from '@gatehouse/shared';
import { WafEngine, type Verdict, type WafBody, type WafRequest } from './engine.js';
import { wafSpec } from './schema.js';

export interface CorpusEntry {
  readonly category: string;
  readonly where: string;
  readonly value: string;
}

export function loadCorpus(name: 'benign' | 'attacks'): CorpusEntry[] {
  const text = readFileSync(new URL(`./corpus/${name}.txt`, import.meta.url), 'utf8');
  const out: CorpusEntry[] = [];
  let category = '';
  let where = 'query';
  for (const line of text.split('\n')) {
    if (line.startsWith('## ')) {
      const parts = line.slice(3).trim().split(' ');
      if (parts.length === 2) [category, where] = parts as [string, string];
      else [where] = parts as [string];
      continue;
    }
    if (line.startsWith('#') && !line.startsWith('#1') && !line.startsWith('#h') && !line.startsWith('#f'))
      continue;
    if (line === '') continue;
    out.push({ category, where, value: line.replace(/\\n/g, '\n') });
  }
  return out;
}

const BASE_HEADERS: Record<string, string[]> = { 'user-agent': ['curl/8.5.0'], accept: ['*/*'] };

/** The request (and body) an entry stands for. */
export function requestOf(e: CorpusEntry): { head: WafRequest; body: WafBody | null } {
  const headers: Record<string, string[]> = { ...BASE_HEADERS };
  let rawPath = '/api/items';
  let rawQuery = '';
  let body: WafBody | null = null;
  if (e.where === 'query') rawQuery = `q=${encodeURIComponent(e.value)}`;
  else if (e.where === 'path') rawPath = e.value;
  else if (e.where === 'json')
    body = {
      contentType: 'application/json',
      text: JSON.stringify({ id: 7, comment: e.value, tags: ['a', e.value] }),
    };
  else if (e.where === 'form') {
    const pairs = e.value.split('&').map((p) => {
      const eq = p.indexOf('=');
      return eq < 0
        ? `message=${encodeURIComponent(p)}`
        : `${encodeURIComponent(p.slice(0, eq))}=${encodeURIComponent(p.slice(eq + 1))}`;
    });
    body = { contentType: 'application/x-www-form-urlencoded', text: pairs.join('&') };
  } else if (e.where === 'text') body = { contentType: 'text/plain', text: e.value };
  else if (e.where.startsWith('header:')) headers[e.where.slice(7)] = [e.value];
  const head: WafRequest = {
    method: body === null ? 'GET' : 'POST',
    rawPath,
    rawQuery,
    query: new URLSearchParams(rawQuery),
    headers,
  };
  return { head, body };
}

export function engineAt(paranoia: number, extra: Record<string, unknown> = {}): WafEngine {
  const config = schema.validate(wafSpec.schema, { paranoia_level: paranoia, ...extra }).value;
  return new WafEngine(config as never);
}

export function score(engine: WafEngine, e: CorpusEntry): Verdict {
  const { head, body } = requestOf(e);
  const v = engine.inspectHead(head);
  if (body !== null) engine.inspectBody(v, body);
  return v;
}
