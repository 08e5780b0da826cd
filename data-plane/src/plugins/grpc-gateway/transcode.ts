/**
 * The per-request half of grpc-gateway: find the binding of a REST request (method and path),
 * build the rpc's input message from the JSON body, the path variables and the query parameters
 * (protobuf-es `mergeFromJson`: the proto3 JSON mapping, lowerCamel and original field names both
 * accepted), frame it as a gRPC message; and turn the gRPC answer's messages back into JSON
 * (`toJson`). Every failure of the client's input is a TranscodeError whose message is the 400's.
 */
import {
  create,
  fromBinary,
  mergeFromJson,
  toBinary,
  toJson,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type JsonWriteOptions,
  type Registry,
  ScalarType,
} from '@bufbuild/protobuf';
import type { Binding, CompiledDescriptor, FieldPath } from './descriptor.js';
import { resolveFieldPath } from './descriptor.js';
import { matchTemplate } from './path-template.js';

/** The client's request cannot be transcoded: answered 400 with this message. */
export class TranscodeError extends Error {}

/** The upstream's answer cannot be read as the rpc's output: answered 502. */
export class UpstreamMessageError extends Error {}

/** Query parameters read per request at most (the rest are ignored, as unknown ones are). */
const MAX_QUERY_PARAMS = 256;
/** Dots in a query parameter's name at most (nested fields). */
const MAX_QUERY_DEPTH = 32;

export interface Match {
  readonly binding: Binding;
  readonly values: ReadonlyMap<string, string>;
}

/**
 * The binding a request takes, or the message of Kong's 400 (`failed to transcode .proto file
 * Unknown method "put"` / `Unknown path "/x"`).
 */
export function findBinding(compiled: CompiledDescriptor, method: string, path: string): Match | string {
  const list = compiled.bindings.get(method.toUpperCase());
  if (list === undefined)
    return `failed to transcode .proto file Unknown method ${JSON.stringify(method.toLowerCase())}`;
  for (const binding of list) {
    const values = matchTemplate(binding.template, path);
    if (values !== null) return { binding, values };
  }
  return `failed to transcode .proto file Unknown path ${JSON.stringify(path)}`;
}

/** A JSON object without a prototype: a field named `__proto__` (a descriptor may have one) stays data. */
const jsonObject = (): JsonObject => Object.create(null) as JsonObject;

/** Sets `value` at the field path in a JSON object (keys are proto field names). */
function put(into: JsonObject, fields: FieldPath, value: JsonValue): void {
  let o = into;
  for (let i = 0; i < fields.length - 1; i++) {
    const name = fields[i]!.name;
    const next = o[name];
    if (next !== null && typeof next === 'object' && !Array.isArray(next)) o = next;
    else o = o[name] = jsonObject();
  }
  o[fields[fields.length - 1]!.name] = value;
}

const TRUE = new Set(['true', '1', 't']);
const FALSE = new Set(['false', '0', 'f']);

/** A path or query string as the JSON value the leaf field takes (proto3 JSON accepts numbers as strings). */
function leafValue(field: DescField, text: string, what: string): JsonValue {
  const scalar =
    field.fieldKind === 'list' ? field.scalar : field.fieldKind === 'scalar' ? field.scalar : undefined;
  const isEnum = field.fieldKind === 'enum' || (field.fieldKind === 'list' && field.listKind === 'enum');
  if (isEnum) return /^-?\d{1,10}$/.test(text) ? Number(text) : text;
  if (scalar === ScalarType.BOOL) {
    const lower = text.toLowerCase();
    if (TRUE.has(lower)) return true;
    if (FALSE.has(lower)) return false;
    throw new TranscodeError(`${what}: '${text}' is not a boolean`);
  }
  return text;
}

/**
 * The framed gRPC request message (5-byte prefix, uncompressed) for a matched request. `body` is
 * the raw request body (ignored when the binding has none).
 */
export function buildRequest(
  match: Match,
  query: URLSearchParams,
  body: Buffer | null,
  registry: Registry,
): Buffer {
  const { binding, values } = match;
  const input = binding.rpc.input;
  const message = create(input);
  // Unknown JSON keys are ignored, as Kong's encoder does.
  const readOptions = { ignoreUnknownFields: true, registry };
  try {
    if (binding.body !== '' && body !== null && body.length > 0) {
      let json: JsonValue;
      try {
        json = JSON.parse(body.toString('utf8')) as JsonValue;
      } catch (err) {
        throw new TranscodeError(`decode json err: ${(err as Error).message}`);
      }
      if (binding.body === '*') {
        if (json === null || typeof json !== 'object' || Array.isArray(json))
          throw new TranscodeError('body must be a JSON object');
        mergeFromJson(input, message, json, readOptions);
      } else mergeFromJson(input, message, { [binding.body.name]: json }, readOptions);
    }
    const bound = jsonObject();
    const pathFields = binding.pathFields;
    const boundNames = new Set<string>();
    binding.template.variables.forEach((v, i) => {
      const fields = pathFields[i]!;
      put(
        bound,
        fields,
        leafValue(fields[fields.length - 1]!, values.get(v.field)!, `path variable '${v.field}'`),
      );
      boundNames.add(fields.map((f) => f.name).join('.'));
    });
    if (binding.body !== '*') {
      const bodyName = binding.body === '' ? null : binding.body.name;
      readQuery(input, query, bound, boundNames, bodyName);
    }
    mergeFromJson(input, message, bound, readOptions);
  } catch (err) {
    if (err instanceof TranscodeError) throw err;
    // protobuf-es names the field and the value it refused; a stack overflow (deep nesting) too.
    throw new TranscodeError(`failed to encode payload: ${(err as Error).message}`);
  }
  return frame(toBinary(input, message));
}

/**
 * Query parameters onto the fields not bound by the path or the body (google/api/http.proto):
 * `a.b=1` is the nested field, a repeated field takes every value; unknown names are ignored (as
 * Kong does), a name that addresses a message is a 400.
 */
function readQuery(
  input: DescMessage,
  query: URLSearchParams,
  into: JsonObject,
  boundNames: ReadonlySet<string>,
  bodyName: string | null,
): void {
  let n = 0;
  const done = new Set<string>();
  for (const name of query.keys()) {
    if (++n > MAX_QUERY_PARAMS) break;
    if (done.has(name)) continue;
    done.add(name);
    const parts = name.split('.');
    if (parts.length > MAX_QUERY_DEPTH) continue;
    const fields = resolveFieldPath(input, parts);
    if (typeof fields === 'string') continue;
    const names = fields.map((f) => f.name).join('.');
    if (boundNames.has(names) || (bodyName !== null && fields[0]!.name === bodyName)) continue;
    const leaf = fields[fields.length - 1]!;
    const list = leaf.fieldKind === 'list';
    if (list ? leaf.listKind === 'message' : leaf.fieldKind !== 'scalar' && leaf.fieldKind !== 'enum')
      throw new TranscodeError(`query parameter '${name}' names a message or map field, not a value`);
    const what = `query parameter '${name}'`;
    const all = query.getAll(name);
    put(
      into,
      fields,
      list ? all.map((v) => leafValue(leaf, v, what)) : leafValue(leaf, all[all.length - 1]!, what),
    );
  }
}

/** A gRPC length-prefixed message (not compressed). */
export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = 0;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

/** The messages of a gRPC response body; throws UpstreamMessageError on a truncated or compressed frame. */
export function unframe(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < body.length) {
    if (body.length - i < 5) throw new UpstreamMessageError('truncated gRPC frame');
    if (body[i] !== 0)
      throw new UpstreamMessageError('compressed gRPC message (no grpc-encoding was offered)');
    const length = body.readUInt32BE(i + 1);
    if (body.length - i - 5 < length) throw new UpstreamMessageError('truncated gRPC message');
    out.push(body.subarray(i + 5, i + 5 + length));
    i += 5 + length;
  }
  return out;
}

/**
 * The JSON body of a successful answer: the one output message (or, when the binding names a
 * `response_body`, that field's value); a server-streaming rpc's messages one per line.
 */
export function responseJson(binding: Binding, body: Buffer, options: Partial<JsonWriteOptions>): string {
  const output = binding.rpc.output;
  const messages = unframe(body);
  if (!binding.rpc.serverStreaming && messages.length !== 1)
    throw new UpstreamMessageError(`a unary rpc answered ${messages.length} messages`);
  const rb = binding.responseBody;
  const key = rb === null ? null : options.useProtoFieldName === true ? rb.name : rb.jsonName;
  const lines = messages.map((bytes) => {
    let json: JsonValue;
    try {
      json = toJson(output, fromBinary(output, bytes), options);
    } catch (err) {
      throw new UpstreamMessageError(`not a ${output.typeName}: ${(err as Error).message}`);
    }
    if (key !== null) json = Object.hasOwn(json as JsonObject, key) ? (json as JsonObject)[key]! : null;
    return JSON.stringify(json);
  });
  return lines.join('\n');
}
