/**
 * A service a plugin calls on its own, by name (InitContext.service): planned as a Destination
 * of that service (its own host and port), so compiling the runtime gives it the service's
 * compiled target — the same pool (or balancer and per-target pools) the proxy path uses, bound
 * at swap. A request picks the pool as dispatchUpstream does (direct, or a target the balancer
 * selects, reported to its passive health checks) and reads at most `maxBodyBytes` of the body.
 * No retries: the caller's timeouts bound the exchange.
 */
import type { Service } from '@gatehouse/shared';
import { Pool, requestOn } from './undici-parts.js';
import { H1Pool } from './h1-upstream.js';
import type { EndpointRequest, EndpointResponse, ServiceEndpoint } from '../plugins/api.js';
import type { Destination, DestinationPlanner } from './destinations.js';
import { TIMEOUT_CODES } from './errors.js';
import { PROXIED_PROTOCOLS } from './service-targets.js';
import type { UpstreamPool } from './upstream-pools.js';

/** Why an endpoint request failed, as `code` on the Error it rejects with. */
export const EndpointErrorCode = {
  /** The service is not proxied by this snapshot (disabled, or not HTTP). */
  UNAVAILABLE: 'GH_ERR_ENDPOINT_UNAVAILABLE',
  /** The balancer has no healthy target. */
  NO_PEER: 'GH_ERR_ENDPOINT_NO_PEER',
  /** The body is larger than `maxBodyBytes`. */
  BODY_TOO_LARGE: 'GH_ERR_ENDPOINT_BODY_TOO_LARGE',
} as const;

export class EndpointError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function joinPath(servicePath: string, pathAndQuery: string): string {
  return servicePath.endsWith('/') ? servicePath + pathAndQuery.slice(1) : servicePath + pathAndQuery;
}

function ignore(): void {}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

class CompiledServiceEndpoint implements ServiceEndpoint {
  constructor(
    readonly label: string,
    private readonly serviceId: string,
    private readonly destination: Destination,
  ) {}

  async request(options: EndpointRequest): Promise<EndpointResponse> {
    const target = this.destination.targetFor(this.serviceId);
    if (target === undefined)
      throw new EndpointError(EndpointErrorCode.UNAVAILABLE, `service ${this.label} is not proxied`);
    let pool: UpstreamPool | null;
    let host: string;
    let index = -1;
    const balanced = target.balanced;
    if (balanced === null) {
      pool = target.pool;
      host = target.hostHeader;
    } else {
      index = balanced.balancer.select('', []);
      if (index < 0)
        throw new EndpointError(EndpointErrorCode.NO_PEER, `service ${this.label}: no healthy target`);
      pool = balanced.pools[index] ?? null;
      host = balanced.hostHeaders[index]!;
    }
    if (pool === null)
      throw new EndpointError(EndpointErrorCode.UNAVAILABLE, `service ${this.label} is not proxied`);
    // The llhttp client's origin: a plugin's requests go through its undici Pool (the promise API).
    if (pool instanceof H1Pool) pool = pool.undici;
    // A gRPC service (HTTP/2 session pool) takes gRPC calls only, not a plugin's plain requests.
    if (!(pool instanceof Pool))
      throw new EndpointError(EndpointErrorCode.UNAVAILABLE, `service ${this.label} is a gRPC service`);
    const report = balanced !== null && balanced.balancer.passiveEnabled ? balanced.balancer : null;
    let res;
    try {
      res = await requestOn(pool, {
        path: joinPath(target.servicePath, options.pathAndQuery),
        method: options.method,
        headers: ['host', host, ...options.headers],
        signal: options.signal,
        headersTimeout: target.readTimeout,
        bodyTimeout: target.readTimeout,
      });
    } catch (e) {
      report?.reportFailure(index, TIMEOUT_CODES.has(errorCode(e)) ? 'timeout' : 'tcp_failure');
      throw e;
    }
    report?.reportStatus(index, res.statusCode);
    // A body dropped over the cap is destroyed: its abort is ours, not a failure to report.
    res.body.on('error', ignore);
    const contentType = res.headers['content-type'];
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > options.maxBodyBytes) {
      res.body.destroy();
      throw new EndpointError(EndpointErrorCode.BODY_TOO_LARGE, `body over ${options.maxBodyBytes} bytes`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > options.maxBodyBytes) {
        res.body.destroy();
        throw new EndpointError(EndpointErrorCode.BODY_TOO_LARGE, `body over ${options.maxBodyBytes} bytes`);
      }
      chunks.push(chunk);
    }
    return {
      status: res.statusCode,
      contentType: Array.isArray(contentType) ? contentType[0] : contentType,
      body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size),
    };
  }
}

/**
 * Plans the endpoint of the service `nameOrId` among `services` (by name, then id); null when
 * there is none. A service that is disabled or not HTTP(S) gives an endpoint whose requests fail
 * with GH_ERR_ENDPOINT_UNAVAILABLE.
 */
export function planServiceEndpoint(
  services: readonly Service[],
  nameOrId: string,
  planner: DestinationPlanner,
): ServiceEndpoint | null {
  const service =
    services.find((s) => s.name === nameOrId) ?? services.find((s) => s.id === nameOrId) ?? undefined;
  if (service === undefined) return null;
  const destination = planner.plan(null, null, { route: null, service: service.id });
  const label = service.name ?? service.id;
  if (!service.enabled || !PROXIED_PROTOCOLS.has(service.protocol)) {
    return new CompiledServiceEndpoint(label, `unproxied:${service.id}`, destination);
  }
  return new CompiledServiceEndpoint(label, service.id, destination);
}
