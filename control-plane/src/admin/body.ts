import { parse as parseQueryString } from 'node:querystring';
import express, { type Request, type RequestHandler } from 'express';
import { coerceFormInput, type FormInput, type Specs } from '@gatehouse/shared';
import { AdminErrors } from './errors.js';
import { checkBody } from './input-guard.js';
import { bodyFormat, isFormBody, mediaParam, type BodyFormat } from './media-type.js';

/** Methods whose body Kong reads; any other method's body is ignored, as Kong ignores it. */
const NEEDS_BODY = new Set(['POST', 'PUT', 'PATCH']);
/** Kong's limit on form and multipart arguments ("Too many arguments"). */
const MAX_FORM_ARGS = 1000;

const cannotParseJson = () => AdminErrors.malformedBody('Cannot parse JSON body');
const tooManyArgs = () => AdminErrors.malformedBody('Too many arguments');

/** Only UTF-8 text bodies are read (a JSON or form body in another charset is a 415). */
function text(body: Buffer, contentType: string): string {
  const charset = mediaParam(contentType, 'charset')?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
    throw AdminErrors.unsupportedMediaType('Unsupported Content-Type');
  return body.toString('utf8');
}

/** JSON: an object or an array; an empty body or anything else is Kong's "Cannot parse JSON body". */
function parseJson(body: Buffer, contentType: string): unknown {
  if (body.length === 0) throw cannotParseJson();
  let value: unknown;
  try {
    value = JSON.parse(text(body, contentType));
  } catch (e) {
    if (e instanceof SyntaxError) throw cannotParseJson();
    throw e;
  }
  if (value === null || typeof value !== 'object') throw cannotParseJson();
  return value;
}

/** Form fields into flat `FormInput` (own properties only): a repeated name becomes a list. */
function formFields(entries: Iterable<[string, string]>): FormInput {
  const out = Object.create(null) as FormInput;
  let count = 0;
  for (const [name, value] of entries) {
    if (++count > MAX_FORM_ARGS) throw tooManyArgs();
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

function parseForm(body: Buffer, contentType: string): FormInput {
  const fields = parseQueryString(text(body, contentType), '&', '=', { maxKeys: MAX_FORM_ARGS + 1 });
  const entries: [string, string][] = [];
  for (const [name, value] of Object.entries(fields))
    for (const v of Array.isArray(value) ? value : [value ?? '']) entries.push([name, v]);
  return formFields(entries);
}

/**
 * `multipart/form-data` with Node's own parser (the fetch `Response`): each part a field, a file
 * part its content as text (Kong's `parse_value`).
 */
async function parseMultipart(body: Buffer, contentType: string): Promise<FormInput> {
  let data: FormData;
  try {
    data = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw AdminErrors.malformedBody('Cannot parse multipart body');
  }
  const entries: [string, string][] = [];
  for (const [name, value] of data) {
    if (entries.length >= MAX_FORM_ARGS) throw tooManyArgs();
    entries.push([name, typeof value === 'string' ? value : await value.text()]);
  }
  return formFields(entries);
}

/** The body of a request whose content type is `format` (or that has none). */
async function decode(body: Buffer, contentType: string | undefined, format: BodyFormat | undefined) {
  if (contentType === undefined || format === undefined) {
    if (body.length > 0) throw AdminErrors.unsupportedMediaType('Unsupported Content-Type');
    return undefined;
  }
  if (format === 'json') return parseJson(body, contentType);
  if (body.length === 0) return Object.create(null) as FormInput;
  return format === 'form' ? parseForm(body, contentType) : parseMultipart(body, contentType);
}

/**
 * Body handling as Kong's Admin API (kong/api/api_helpers.lua `before_filter`, `parse_params`):
 * only POST, PUT and PATCH bodies are read (a GET's is ignored); JSON, form-urlencoded or
 * multipart/form-data, any other content type a 415, a body without a content type a 415; a
 * JSON content type with an empty or unparsable body is 400 "Cannot parse JSON body"; an empty
 * form body, or none at all, reads as `{}`. The parsed body then passes the input policy
 * (`checkBody`).
 */
export function bodyParsers(limit: string | number): RequestHandler[] {
  const read = express.raw({ type: () => true, limit });
  const parse: RequestHandler = (req, res, next) => {
    req.body = undefined;
    if (!NEEDS_BODY.has(req.method)) return next();
    const contentType = req.headers['content-type'];
    const format = contentType === undefined ? undefined : bodyFormat(contentType);
    if (contentType !== undefined && format === undefined)
      return next(AdminErrors.unsupportedMediaType('Unsupported Content-Type'));
    read(req, res, (err?: unknown) => {
      if (err) return next(err);
      const raw: unknown = req.body;
      const body = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
      decode(body, contentType, format).then((parsed) => {
        req.body = parsed;
        next();
      }, next);
    });
  };
  return [parse, checkBody];
}

/** The request body as the validators expect it (form values coerced with the entity's field kinds). */
export function entityBody(req: Request, schema: Specs): unknown {
  const body: unknown = req.body;
  if (body === undefined) return {};
  if (isFormBody(req)) return coerceFormInput(body as FormInput, schema);
  return body;
}
