/**
 * gRPC through a real CP and DP (issue 16): a @grpc/grpc-js server behind a `grpc://` service
 * and a `grpc`/`grpcs` route, configured through the Admin API with key-auth in front;
 * @grpc/grpc-js clients reach it over h2c on the plain port and over h2 on the TLS port: unary
 * and server-streaming calls with the key, UNAUTHENTICATED without it, the upstream's own status
 * passed through, NOT_FOUND for a method no route takes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import {
  adminCreate,
  freePort,
  startCp,
  startDp,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';
import { listenGrpc, rawMethod } from '../test/helpers/grpc-server.js';

const method = (path: string, responseStream: boolean) => rawMethod(path, false, responseStream);
const definition = (pkg: string) =>
  ({
    Unary: method(`/${pkg}/Unary`, false),
    List: method(`/${pkg}/List`, true),
    Fail: method(`/${pkg}/Fail`, false),
  }) satisfies grpc.ServiceDefinition;

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

function unary(client: Client, name: string, body: Buffer, md = new grpc.Metadata()) {
  return new Promise<{ value: Buffer | null; err: grpc.ServiceError | null }>((resolve) => {
    client[name]!(
      body,
      md,
      { deadline: Date.now() + 10_000 },
      (err: grpc.ServiceError | null, value: Buffer | null) => resolve({ value, err }),
    );
  });
}

function withKey(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('apikey', 'alice-key');
  return md;
}

describe('gRPC through a real CP and DP, key-auth in front (h2c and TLS)', () => {
  let cp: CpHandle;
  let dp: DpHandle;
  let server: grpc.Server;
  let tlsPort: number;
  const clients: grpc.Client[] = [];

  const plainClient = (pkg: string): Client => {
    const Ctor = grpc.makeGenericClientConstructor(definition(pkg), pkg);
    const c = new Ctor(`127.0.0.1:${dp.proxyPort}`, grpc.credentials.createInsecure()) as unknown as Client;
    clients.push(c);
    return c;
  };
  const tlsClient = (pkg: string): Client => {
    const Ctor = grpc.makeGenericClientConstructor(definition(pkg), pkg);
    // The DP's default certificate is self-signed: not verified here (TLS is what is tested).
    const creds = grpc.credentials.createSsl(null, null, null, {
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    const c = new Ctor(`127.0.0.1:${tlsPort}`, creds) as unknown as Client;
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(definition('e2e.Greeter'), {
      Unary(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
        const who = call.metadata.get('x-consumer-username')[0] ?? 'nobody';
        cb(null, Buffer.from(`hello ${call.request.toString()} (${String(who)})`));
      },
      List(call: grpc.ServerWritableStream<Buffer, Buffer>) {
        for (let i = 0; i < 3; i++) call.write(Buffer.from(`item${i}`));
        call.end();
      },
      Fail(_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
        cb({ code: grpc.status.FAILED_PRECONDITION, details: 'not ready' }, null);
      },
    });
    const port = await listenGrpc(server);

    cp = await startCp({ dataDir: tempDir('grpc-cp') });
    const ok = (path: string, body: unknown): Promise<void> => adminCreate(cp.admin, path, body);
    await ok('/services', { name: 'greeter', url: `grpc://127.0.0.1:${port}` });
    await ok('/services/greeter/routes', {
      name: 'greeter-route',
      protocols: ['grpc', 'grpcs'],
      paths: ['/e2e.Greeter/'],
    });
    await ok('/routes/greeter-route/plugins', { name: 'key-auth', config: {} });
    await ok('/consumers', { username: 'alice' });
    await ok('/consumers/alice/key-auth', { key: 'alice-key' });

    tlsPort = await freePort();
    dp = await startDp({
      cluster: `127.0.0.1:${cp.clusterPort}`,
      publicKeys: cp.publicKeys,
      tls: cp.dpTlsArgs,
      dataDir: tempDir('grpc-dp'),
      workers: 2,
      args: ['--listen-ssl', `127.0.0.1:${tlsPort}`],
    });
    const probe = plainClient('e2e.Greeter');
    await waitUntil(
      'the gRPC route is served',
      async () => (await unary(probe, 'Unary', Buffer.from('probe'), withKey())).err === null,
      60_000,
    );
  }, 150_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await dp?.proc.stop();
    await cp?.proc.stop();
    server?.forceShutdown();
  });

  for (const kind of ['h2c', 'tls'] as const) {
    it(`answers a unary call with the key and UNAUTHENTICATED without it (${kind})`, async () => {
      const c = kind === 'h2c' ? plainClient('e2e.Greeter') : tlsClient('e2e.Greeter');
      const denied = await unary(c, 'Unary', Buffer.from('bob'));
      expect(denied.err!.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(denied.err!.details).toBe('No API key found in request');
      const passed = await unary(c, 'Unary', Buffer.from('bob'), withKey());
      expect(passed.err).toBeNull();
      expect(passed.value!.toString()).toBe('hello bob (alice)');
    });

    it(`streams a server-streaming call and passes the upstream's error status (${kind})`, async () => {
      const c = kind === 'h2c' ? plainClient('e2e.Greeter') : tlsClient('e2e.Greeter');
      const call = c.List!(Buffer.from(''), withKey()) as grpc.ClientReadableStream<Buffer>;
      const got: string[] = [];
      call.on('data', (b: Buffer) => got.push(b.toString()));
      await new Promise((resolve, reject) => {
        call.on('end', resolve);
        call.on('error', reject);
      });
      expect(got).toEqual(['item0', 'item1', 'item2']);
      const failed = await unary(c, 'Fail', Buffer.from(''), withKey());
      expect(failed.err!.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(failed.err!.details).toBe('not ready');
    });
  }

  it('answers a method no route takes with NOT_FOUND', async () => {
    const r = await unary(plainClient('e2e.Nowhere'), 'Unary', Buffer.from(''), withKey());
    expect(r.err!.code).toBe(grpc.status.NOT_FOUND);
    expect(r.err!.details).toBe('no Route matched with those values');
  });
});
