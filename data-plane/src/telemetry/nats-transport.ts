/**
 * Traffic summaries over NATS: subject `gatehouse.telemetry.<region>.<node>`, payload the
 * TrafficSummary protobuf, on the process's NATS link. While NATS is unreachable or disconnected
 * `send` says no, so the publisher keeps the summary in its bounded buffer; the DP serves on
 * regardless.
 */
import { toBinary } from '@bufbuild/protobuf';
import { TrafficSummarySchema, type TrafficSummary } from '@gatehouse/proto/gen/gatehouse/v1/cluster_pb';
import type { Logger, NatsLink } from '@gatehouse/shared';
import { regionToken } from '../ratelimit/cluster-policy.js';
import type { TrafficTransport } from './traffic-publisher.js';

export function telemetrySubject(region: string | null | undefined, nodeId: string): string {
  return `gatehouse.telemetry.${regionToken(region)}.${regionToken(nodeId)}`;
}

export class NatsTrafficTransport implements TrafficTransport {
  readonly name = 'nats';
  readonly subject: string;

  constructor(
    private readonly o: {
      nats: NatsLink;
      region: string | null | undefined;
      nodeId: string;
      logger: Logger;
    },
  ) {
    this.subject = telemetrySubject(o.region, o.nodeId);
  }

  start(): void {
    this.o.logger.info({ subject: this.subject }, 'traffic summaries: publishing on NATS');
  }

  send(summary: TrafficSummary): boolean {
    if (this.o.nats.state !== 'connected') return false;
    return this.o.nats.publish(this.subject, toBinary(TrafficSummarySchema, summary));
  }
}
