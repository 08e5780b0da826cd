/**
 * The HTTP status of a gRPC status, Kong's grpc-gateway table (handler.lua, after
 * google/rpc/code.proto). It differs from grpc-gateway (Go) in one place: UNIMPLEMENTED is 500
 * here (Go: 501). A code outside the table is 500, as in Kong.
 */
const GRPC_TO_HTTP: readonly number[] = [
  200, // 0 OK
  499, // 1 CANCELLED
  500, // 2 UNKNOWN
  400, // 3 INVALID_ARGUMENT
  504, // 4 DEADLINE_EXCEEDED
  404, // 5 NOT_FOUND
  409, // 6 ALREADY_EXISTS
  403, // 7 PERMISSION_DENIED
  429, // 8 RESOURCE_EXHAUSTED
  400, // 9 FAILED_PRECONDITION
  409, // 10 ABORTED
  400, // 11 OUT_OF_RANGE
  500, // 12 UNIMPLEMENTED
  500, // 13 INTERNAL
  503, // 14 UNAVAILABLE
  500, // 15 DATA_LOSS
  401, // 16 UNAUTHENTICATED
];

export function httpStatusOfGrpc(code: number): number {
  return Number.isInteger(code) ? (GRPC_TO_HTTP[code] ?? 500) : 500;
}
