-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "services" (
    "id" UUID NOT NULL,
    "name" TEXT,
    "protocol" TEXT NOT NULL DEFAULT 'http',
    "host" TEXT NOT NULL,
    "port" INTEGER NOT NULL DEFAULT 80,
    "path" TEXT,
    "retries" INTEGER NOT NULL DEFAULT 5,
    "connect_timeout" INTEGER NOT NULL DEFAULT 60000,
    "write_timeout" INTEGER NOT NULL DEFAULT 60000,
    "read_timeout" INTEGER NOT NULL DEFAULT 60000,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "client_certificate_id" UUID,
    "tls_verify" BOOLEAN,
    "tls_verify_depth" INTEGER,
    "ca_certificates" UUID[] DEFAULT ARRAY[]::UUID[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "services_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "routes" (
    "id" UUID NOT NULL,
    "name" TEXT,
    "protocols" TEXT[] DEFAULT ARRAY['http', 'https']::TEXT[],
    "methods" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "hosts" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "paths" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "headers" JSONB,
    "snis" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "sources" JSONB,
    "destinations" JSONB,
    "regex_priority" INTEGER NOT NULL DEFAULT 0,
    "strip_path" BOOLEAN NOT NULL DEFAULT true,
    "path_handling" TEXT NOT NULL DEFAULT 'v0',
    "preserve_host" BOOLEAN NOT NULL DEFAULT false,
    "https_redirect_status_code" INTEGER NOT NULL DEFAULT 426,
    "request_buffering" BOOLEAN NOT NULL DEFAULT true,
    "response_buffering" BOOLEAN NOT NULL DEFAULT true,
    "service_id" UUID,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "routes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "config_version" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "version" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "config_version_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "clustering_data_planes" (
    "id" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "ip" TEXT NOT NULL,
    "region" TEXT,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "version" TEXT NOT NULL,
    "config_hash" TEXT NOT NULL,
    "config_version" BIGINT NOT NULL DEFAULT 0,
    "last_seen" TIMESTAMPTZ(3) NOT NULL,
    "sync_status" TEXT NOT NULL DEFAULT 'unknown',
    "last_nack_reason" TEXT,
    "plugins" JSONB NOT NULL DEFAULT '[]',
    "connected" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "clustering_data_planes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "services_name_key" ON "services"("name");

-- CreateIndex
CREATE INDEX "services_tags_idx" ON "services" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "routes_name_key" ON "routes"("name");

-- CreateIndex
CREATE INDEX "routes_service_id_idx" ON "routes"("service_id");

-- CreateIndex
CREATE INDEX "routes_tags_idx" ON "routes" USING GIN ("tags");

-- AddForeignKey
ALTER TABLE "routes" ADD CONSTRAINT "routes_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
