/**
 * A grpc-gateway config's descriptor set compiled into the bindings a request is matched against:
 * the base64 FileDescriptorSet (`protoc --include_imports --descriptor_set_out` or `buf build -o`)
 * → a protobuf-es registry → for each rpc of the chosen services, its `google.api.http` rule and
 * additional bindings, each with a parsed path template and its fields resolved on the rpc's
 * input and output messages. The control plane runs this at write time (the schema's check:
 * anything wrong is a 400 naming it) and each DP once per snapshot (plugin init). Pure: no I/O,
 * no shared state.
 */
import {
  createFileRegistry,
  fromBinary,
  getExtension,
  hasExtension,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
  type FileRegistry,
} from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { http } from './proto/gen/google/api/annotations_pb.js';
import type { HttpRule } from './proto/gen/google/api/http_pb.js';
import { parseTemplate, type PathTemplate } from './path-template.js';

/** The most bytes of a decoded descriptor set (a large API's set with its imports is well under). */
export const MAX_DESCRIPTOR_BYTES = 4 * 1024 * 1024;

/** One rpc reachable over HTTP. */
export interface Rpc {
  /** `/package.Service/Method`: the upstream gRPC path. */
  readonly path: string;
  readonly input: DescMessage;
  readonly output: DescMessage;
  readonly serverStreaming: boolean;
}

/** A field path (`author.name`) resolved on a message: each step's field, the leaf last. */
export type FieldPath = readonly DescField[];

/** One HTTP binding of an rpc (its rule or one of its additional bindings). */
export interface Binding {
  readonly rpc: Rpc;
  /** Upper-case HTTP method (`GET`, or a custom pattern's kind). */
  readonly method: string;
  readonly template: PathTemplate;
  /** The template's variables resolved on the input message, in the template's order. */
  readonly pathFields: readonly FieldPath[];
  /** '' (no body), '*' (every field not bound by the path) or the top-level field the body maps to. */
  readonly body: '' | '*' | DescField;
  /** The output field sent as the HTTP body, or null for the whole message. */
  readonly responseBody: DescField | null;
}

export interface CompiledDescriptor {
  readonly registry: FileRegistry;
  /** Bindings by HTTP method, in declaration order (the first that matches wins). */
  readonly bindings: ReadonlyMap<string, readonly Binding[]>;
  /** How many bindings (for logs). */
  readonly size: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes base64 (standard alphabet, padded or not) strictly, or null. */
export function decodeBase64(text: string): Uint8Array | null {
  const t = text.replace(/\s+/g, '');
  if (!BASE64.test(t) || t.length % 4 === 1) return null;
  return Buffer.from(t, 'base64');
}

/** Compiles the descriptor set, or returns what is wrong with it. */
export function compileDescriptor(base64: string, services: readonly string[]): CompiledDescriptor | string {
  if (base64.length > (MAX_DESCRIPTOR_BYTES * 4) / 3 + 8)
    return `descriptor_set is larger than ${MAX_DESCRIPTOR_BYTES} bytes`;
  const bytes = decodeBase64(base64);
  if (bytes === null) return 'descriptor_set is not base64';
  let registry: FileRegistry;
  try {
    registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes));
  } catch (err) {
    return `descriptor_set is not a valid FileDescriptorSet (${(err as Error).message}); build it with \`protoc --include_imports --descriptor_set_out\` or \`buf build -o\``;
  }
  const all: DescService[] = [];
  for (const t of registry) if (t.kind === 'service') all.push(t);
  let chosen = all;
  if (services.length > 0) {
    chosen = [];
    for (const name of services) {
      const s = all.find((x) => x.typeName === name);
      if (s === undefined)
        return `unknown service '${name}' (the descriptor set has: ${all.map((x) => x.typeName).join(', ') || 'none'})`;
      chosen.push(s);
    }
  }
  const bindings = new Map<string, Binding[]>();
  const seen = new Set<string>();
  let size = 0;
  for (const service of chosen) {
    let annotated = 0;
    for (const method of service.methods) {
      const rule = httpRuleOf(method);
      if (rule === null) continue;
      annotated++;
      const compiled = compileRule(method, rule);
      if (typeof compiled === 'string') return `rpc ${method.parent.typeName}.${method.name}: ${compiled}`;
      for (const b of compiled) {
        const key = `${b.method} ${b.template.source}`;
        if (seen.has(key))
          return `rpc ${method.parent.typeName}.${method.name}: ${key} is bound by another rpc too`;
        seen.add(key);
        let list = bindings.get(b.method);
        if (list === undefined) bindings.set(b.method, (list = []));
        list.push(b);
        size++;
      }
    }
    if (services.length > 0 && annotated === 0)
      return `service '${service.typeName}' has no rpc with a google.api.http annotation`;
  }
  if (size === 0) return 'no rpc of the descriptor set has a google.api.http annotation';
  return { registry, bindings, size };
}

function httpRuleOf(method: DescMethod): HttpRule | null {
  const options = method.proto.options;
  if (options === undefined || !hasExtension(options, http)) return null;
  return getExtension(options, http);
}

function compileRule(method: DescMethod, rule: HttpRule): Binding[] | string {
  if (method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming')
    return 'client and bidirectional streaming rpcs cannot be transcoded';
  const rpc: Rpc = {
    path: `/${method.parent.typeName}/${method.name}`,
    input: method.input,
    output: method.output,
    serverStreaming: method.methodKind === 'server_streaming',
  };
  const out: Binding[] = [];
  const first = compileBinding(rpc, rule);
  if (typeof first === 'string') return first;
  out.push(first);
  for (const extra of rule.additionalBindings) {
    if (extra.additionalBindings.length > 0) return 'additional_bindings may not nest';
    const b = compileBinding(rpc, extra);
    if (typeof b === 'string') return b;
    out.push(b);
  }
  return out;
}

function compileBinding(rpc: Rpc, rule: HttpRule): Binding | string {
  const p = rule.pattern;
  let method: string;
  let path: string;
  switch (p.case) {
    case 'get':
    case 'put':
    case 'post':
    case 'delete':
    case 'patch':
      method = p.case.toUpperCase();
      path = p.value;
      break;
    case 'custom':
      method = p.value.kind.toUpperCase();
      path = p.value.path;
      if (!/^[A-Z][A-Z0-9_-]{0,31}$/.test(method)) return `invalid custom method '${p.value.kind}'`;
      break;
    default:
      return 'the google.api.http rule has no method and path';
  }
  const template = parseTemplate(path);
  if (typeof template === 'string') return template;
  const pathFields: FieldPath[] = [];
  for (const v of template.variables) {
    const f = resolveFieldPath(rpc.input, v.field.split('.'));
    if (typeof f === 'string') return `${method} ${path}: ${f}`;
    const leaf = f[f.length - 1]!;
    if (leaf.fieldKind !== 'scalar' && leaf.fieldKind !== 'enum')
      return `${method} ${path}: field '${v.field}' must be a singular scalar or enum to be bound by the path`;
    pathFields.push(f);
  }
  let body: Binding['body'] = '';
  if (rule.body === '*') body = '*';
  else if (rule.body !== '') {
    const f = fieldOf(rpc.input, rule.body);
    if (f === undefined)
      return `${method} ${path}: body field '${rule.body}' is not a field of ${rpc.input.typeName}`;
    body = f;
  }
  let responseBody: DescField | null = null;
  if (rule.responseBody !== '') {
    const f = fieldOf(rpc.output, rule.responseBody);
    if (f === undefined)
      return `${method} ${path}: response_body '${rule.responseBody}' is not a field of ${rpc.output.typeName}`;
    responseBody = f;
  }
  return { rpc, method, template, pathFields, body, responseBody };
}

/** A field of `message` by its proto name or its JSON name. */
export function fieldOf(message: DescMessage, name: string): DescField | undefined {
  return message.fields.find((f) => f.name === name) ?? message.fields.find((f) => f.jsonName === name);
}

/**
 * Resolves a dotted field path: every step but the last a singular message field. Returns what is
 * wrong otherwise (naming the field and message).
 */
export function resolveFieldPath(message: DescMessage, parts: readonly string[]): FieldPath | string {
  const out: DescField[] = [];
  let m: DescMessage | undefined = message;
  for (let i = 0; i < parts.length; i++) {
    if (m === undefined) return `'${parts.slice(0, i).join('.')}' is not a message field`;
    const f = fieldOf(m, parts[i]!);
    if (f === undefined) return `'${parts[i]}' is not a field of ${m.typeName}`;
    out.push(f);
    m = f.fieldKind === 'message' ? f.message : undefined;
  }
  return out;
}
