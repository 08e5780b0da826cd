-- CreateTable
CREATE TABLE "audit_requests" (
    "seq" BIGSERIAL NOT NULL,
    "request_id" TEXT NOT NULL,
    "request_timestamp" TIMESTAMPTZ(3) NOT NULL,
    "client_ip" TEXT,
    "method" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "payload" TEXT,
    "removed_from_payload" TEXT,
    "status" INTEGER NOT NULL,
    "rbac_user_name" TEXT NOT NULL,
    "actor_kind" TEXT NOT NULL,
    "request_source" TEXT NOT NULL,
    "prev_hash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,

    CONSTRAINT "audit_requests_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "audit_objects" (
    "seq" BIGSERIAL NOT NULL,
    "id" UUID NOT NULL,
    "request_id" TEXT NOT NULL,
    "request_timestamp" TIMESTAMPTZ(3) NOT NULL,
    "client_ip" TEXT,
    "rbac_user_name" TEXT NOT NULL,
    "dao_name" TEXT NOT NULL,
    "entity_key" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "entity" TEXT,
    "before" TEXT,
    "prev_hash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,

    CONSTRAINT "audit_objects_pkey" PRIMARY KEY ("seq")
);

-- CreateIndex
CREATE INDEX "audit_requests_request_timestamp_idx" ON "audit_requests"("request_timestamp");

-- CreateIndex
CREATE INDEX "audit_requests_request_id_idx" ON "audit_requests"("request_id");

-- CreateIndex
CREATE INDEX "audit_objects_request_timestamp_idx" ON "audit_objects"("request_timestamp");

-- CreateIndex
CREATE INDEX "audit_objects_request_id_idx" ON "audit_objects"("request_id");

-- CreateIndex
CREATE INDEX "audit_objects_dao_name_entity_key_idx" ON "audit_objects"("dao_name", "entity_key");
