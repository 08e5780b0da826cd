/**
 * A control plane double for data plane tests: a real grpc-js server speaking
 * ClusterService.Connect, with snapshots signed by shared's signSnapshot. It records every
 * message the data planes send and lets a test push any snapshot (including bad ones).
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import {
  clusterServiceDefinition,
  cpMessage,
  type Ack,
  type ControlPlaneMessage,
  type DataPlaneMessage,
  type Heartbeat,
  type Hello,
  type Nack,
} from '@gatehouse/proto';
import { signedSnapshotToProto, type SignedSnapshot } from '@gatehouse/shared';
import { testClusterCerts } from '../../helpers/cluster-certs.js';

type Stream = grpc.ServerDuplexStream<DataPlaneMessage, ControlPlaneMessage>;
interface DpValues {
  hello: Hello;
  ack: Ack;
  nack: Nack;
  heartbeat: Heartbeat;
}

export class FakeControlPlane extends EventEmitter {
  readonly server = new grpc.Server();
  readonly streams = new Set<Stream>();
  readonly received: DataPlaneMessage[] = [];
  latest: SignedSnapshot | null = null;
  port = 0;
  /** When true the CP sends nothing at all (a black-holed peer, as far as the DP can tell). */
  silent = false;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor() {
    super();
    this.server.addService(clusterServiceDefinition, {
      connect: (stream: Stream) => this.onStream(stream),
    });
  }

  /** Listens with mutual TLS (the test CP certificate; DPs present the test DP certificate). */
  async start(port = 0): Promise<number> {
    const { cp } = await testClusterCerts();
    const credentials = grpc.ServerCredentials.createSsl(
      cp.trust,
      [{ private_key: cp.key, cert_chain: cp.cert }],
      true,
    );
    this.port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(`127.0.0.1:${port}`, credentials, (err, p) => (err ? reject(err) : resolve(p)));
    });
    this.heartbeat = setInterval(() => {
      if (this.silent) return;
      for (const s of this.streams) {
        s.write(
          cpMessage({
            case: 'heartbeat',
            value: {
              $typeName: 'gatehouse.v1.Heartbeat',
              configHash: this.latest?.hash ?? '',
              configVersion: this.latest?.version ?? 0n,
              configKid: '',
              sentAtUnixMs: BigInt(Date.now()),
            },
          }),
        );
      }
    }, 500);
    return this.port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Makes `snap` the newest and pushes it to every connected DP. */
  publish(snap: SignedSnapshot): void {
    this.latest = snap;
    this.send(snap);
  }

  /** Pushes `snap` to every connected DP without making it the newest (bad snapshots). */
  send(snap: SignedSnapshot): void {
    for (const s of this.streams) s.write(snapshotMessage(snap));
  }

  refuse(syncStatus: string, reason: string): void {
    for (const s of this.streams) {
      s.write(
        cpMessage({ case: 'refusal', value: { $typeName: 'gatehouse.v1.Refusal', syncStatus, reason } }),
      );
    }
  }

  /** Resolves with the first message (received from index `since` on) matching `pred`. */
  waitFor<K extends keyof DpValues>(
    kind: K,
    pred: (m: DpValues[K]) => boolean = () => true,
    timeoutMs = 20_000,
    since = 0,
  ): Promise<DpValues[K]> {
    const match = (m: DataPlaneMessage): DpValues[K] | undefined => {
      if (m.message.case !== kind) return undefined;
      const v = m.message.value as unknown as DpValues[K];
      return pred(v) ? v : undefined;
    };
    for (const m of this.received.slice(since)) {
      const v = match(m);
      if (v) return Promise.resolve(v);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('message', onMessage);
        reject(new Error(`no ${kind} message within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (m: DataPlaneMessage) => {
        const v = match(m);
        if (v) {
          clearTimeout(timer);
          this.off('message', onMessage);
          resolve(v);
        }
      };
      this.on('message', onMessage);
    });
  }

  /** Dies like `kill -9`: every stream and connection is cut at once. */
  kill(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.server.forceShutdown();
    this.streams.clear();
  }

  private onStream(stream: Stream): void {
    this.streams.add(stream);
    stream.on('data', (m: DataPlaneMessage) => {
      this.received.push(m);
      this.emit('message', m);
      if (
        m.message.case === 'hello' &&
        !this.silent &&
        this.latest &&
        m.message.value.configHash !== this.latest.hash
      ) {
        stream.write(snapshotMessage(this.latest));
      }
    });
    const gone = () => this.streams.delete(stream);
    stream.on('end', () => {
      gone();
      stream.end();
    });
    stream.on('error', gone);
    stream.on('cancelled', gone);
  }
}

function snapshotMessage(s: SignedSnapshot): ControlPlaneMessage {
  return cpMessage({
    case: 'snapshot',
    value: signedSnapshotToProto(s),
  });
}
