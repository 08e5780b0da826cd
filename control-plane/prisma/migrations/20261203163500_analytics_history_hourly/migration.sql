-- CreateTable
CREATE TABLE "analytics_history_hourly" (
    "bucket_start" TIMESTAMPTZ(3) NOT NULL,
    "source" TEXT NOT NULL,
    "node_id" TEXT NOT NULL,
    "region" TEXT NOT NULL,
    "service_id" TEXT NOT NULL,
    "service_name" TEXT NOT NULL,
    "route_id" TEXT NOT NULL,
    "route_name" TEXT NOT NULL,
    "consumer_id" TEXT NOT NULL,
    "requests" BIGINT NOT NULL,
    "errors_4xx" BIGINT NOT NULL,
    "errors_5xx" BIGINT NOT NULL,
    "summaries" INTEGER NOT NULL,
    "latency" BYTEA NOT NULL,

    CONSTRAINT "analytics_history_hourly_pkey" PRIMARY KEY ("bucket_start","source","node_id","region","service_id","route_id","consumer_id")
);

-- CreateTable
CREATE TABLE "analytics_rollup" (
    "tier" TEXT NOT NULL,
    "through" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "analytics_rollup_pkey" PRIMARY KEY ("tier")
);
