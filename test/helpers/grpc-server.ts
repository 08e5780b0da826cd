/** Starts a @grpc/grpc-js server on a free 127.0.0.1 port and resolves that port. */
import * as grpc from '@grpc/grpc-js';

export function listenGrpc(
  server: grpc.Server,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
}

const raw = (b: Buffer): Buffer => b;

/**
 * A method of a test service whose messages are raw bytes (no .proto needed): requests and
 * responses pass as the Buffers the test gives and gets.
 */
export function rawMethod(path: string, requestStream: boolean, responseStream: boolean) {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  };
}
