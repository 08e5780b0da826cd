-- CreateTable
CREATE TABLE "upstreams" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL DEFAULT 'round-robin',
    "hash_on" TEXT NOT NULL DEFAULT 'none',
    "hash_fallback" TEXT NOT NULL DEFAULT 'none',
    "hash_on_header" TEXT,
    "hash_fallback_header" TEXT,
    "hash_on_cookie" TEXT,
    "hash_on_cookie_path" TEXT NOT NULL DEFAULT '/',
    "hash_on_query_arg" TEXT,
    "hash_fallback_query_arg" TEXT,
    "hash_on_uri_capture" TEXT,
    "hash_fallback_uri_capture" TEXT,
    "slots" INTEGER NOT NULL DEFAULT 10000,
    "healthchecks" JSONB NOT NULL,
    "host_header" TEXT,
    "client_certificate_id" UUID,
    "use_srv_name" BOOLEAN NOT NULL DEFAULT false,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "upstreams_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "targets" (
    "id" UUID NOT NULL,
    "upstream_id" UUID NOT NULL,
    "target" TEXT NOT NULL,
    "weight" INTEGER NOT NULL DEFAULT 100,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "targets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "consumers" (
    "id" UUID NOT NULL,
    "username" TEXT,
    "custom_id" TEXT,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "consumers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "consumer_groups" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "consumer_groups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "consumer_group_consumers" (
    "id" UUID NOT NULL,
    "consumer_group_id" UUID NOT NULL,
    "consumer_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "consumer_group_consumers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "plugins" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "instance_name" TEXT,
    "config" JSONB NOT NULL,
    "protocols" TEXT[] DEFAULT ARRAY['grpc', 'grpcs', 'http', 'https']::TEXT[],
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "service_id" UUID,
    "route_id" UUID,
    "consumer_id" UUID,
    "consumer_group_id" UUID,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "plugins_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "certificates" (
    "id" UUID NOT NULL,
    "cert" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "cert_alt" TEXT,
    "key_alt" TEXT,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "certificates_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "snis" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "certificate_id" UUID NOT NULL,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "snis_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ca_certificates" (
    "id" UUID NOT NULL,
    "cert" TEXT NOT NULL,
    "cert_digest" TEXT NOT NULL,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ca_certificates_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "keyauth_credentials" (
    "id" UUID NOT NULL,
    "consumer_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "ttl" INTEGER,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "keyauth_credentials_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "basicauth_credentials" (
    "id" UUID NOT NULL,
    "consumer_id" UUID NOT NULL,
    "username" TEXT NOT NULL,
    "password" TEXT NOT NULL,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "basicauth_credentials_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "jwt_secrets" (
    "id" UUID NOT NULL,
    "consumer_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "secret" TEXT,
    "rsa_public_key" TEXT,
    "algorithm" TEXT NOT NULL DEFAULT 'HS256',
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "jwt_secrets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "hmacauth_credentials" (
    "id" UUID NOT NULL,
    "consumer_id" UUID NOT NULL,
    "username" TEXT NOT NULL,
    "secret" TEXT NOT NULL,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "hmacauth_credentials_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "acls" (
    "id" UUID NOT NULL,
    "consumer_id" UUID NOT NULL,
    "group" TEXT NOT NULL,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "acls_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "upstreams_name_key" ON "upstreams"("name");

-- CreateIndex
CREATE INDEX "upstreams_tags_idx" ON "upstreams" USING GIN ("tags");

-- CreateIndex
CREATE INDEX "targets_tags_idx" ON "targets" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "targets_upstream_id_target_key" ON "targets"("upstream_id", "target");

-- CreateIndex
CREATE UNIQUE INDEX "consumers_username_key" ON "consumers"("username");

-- CreateIndex
CREATE UNIQUE INDEX "consumers_custom_id_key" ON "consumers"("custom_id");

-- CreateIndex
CREATE INDEX "consumers_tags_idx" ON "consumers" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "consumer_groups_name_key" ON "consumer_groups"("name");

-- CreateIndex
CREATE INDEX "consumer_groups_tags_idx" ON "consumer_groups" USING GIN ("tags");

-- CreateIndex
CREATE INDEX "consumer_group_consumers_consumer_id_idx" ON "consumer_group_consumers"("consumer_id");

-- CreateIndex
CREATE UNIQUE INDEX "consumer_group_consumers_consumer_group_id_consumer_id_key" ON "consumer_group_consumers"("consumer_group_id", "consumer_id");

-- CreateIndex
CREATE UNIQUE INDEX "plugins_instance_name_key" ON "plugins"("instance_name");

-- CreateIndex
CREATE INDEX "plugins_name_idx" ON "plugins"("name");

-- CreateIndex
CREATE INDEX "plugins_service_id_idx" ON "plugins"("service_id");

-- CreateIndex
CREATE INDEX "plugins_route_id_idx" ON "plugins"("route_id");

-- CreateIndex
CREATE INDEX "plugins_consumer_id_idx" ON "plugins"("consumer_id");

-- CreateIndex
CREATE INDEX "plugins_consumer_group_id_idx" ON "plugins"("consumer_group_id");

-- CreateIndex
CREATE INDEX "plugins_tags_idx" ON "plugins" USING GIN ("tags");

-- CreateIndex
CREATE INDEX "certificates_tags_idx" ON "certificates" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "snis_name_key" ON "snis"("name");

-- CreateIndex
CREATE INDEX "snis_certificate_id_idx" ON "snis"("certificate_id");

-- CreateIndex
CREATE INDEX "snis_tags_idx" ON "snis" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "ca_certificates_cert_digest_key" ON "ca_certificates"("cert_digest");

-- CreateIndex
CREATE INDEX "ca_certificates_tags_idx" ON "ca_certificates" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "keyauth_credentials_key_key" ON "keyauth_credentials"("key");

-- CreateIndex
CREATE INDEX "keyauth_credentials_consumer_id_idx" ON "keyauth_credentials"("consumer_id");

-- CreateIndex
CREATE INDEX "keyauth_credentials_tags_idx" ON "keyauth_credentials" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "basicauth_credentials_username_key" ON "basicauth_credentials"("username");

-- CreateIndex
CREATE INDEX "basicauth_credentials_consumer_id_idx" ON "basicauth_credentials"("consumer_id");

-- CreateIndex
CREATE INDEX "basicauth_credentials_tags_idx" ON "basicauth_credentials" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "jwt_secrets_key_key" ON "jwt_secrets"("key");

-- CreateIndex
CREATE INDEX "jwt_secrets_consumer_id_idx" ON "jwt_secrets"("consumer_id");

-- CreateIndex
CREATE INDEX "jwt_secrets_tags_idx" ON "jwt_secrets" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "hmacauth_credentials_username_key" ON "hmacauth_credentials"("username");

-- CreateIndex
CREATE INDEX "hmacauth_credentials_consumer_id_idx" ON "hmacauth_credentials"("consumer_id");

-- CreateIndex
CREATE INDEX "hmacauth_credentials_tags_idx" ON "hmacauth_credentials" USING GIN ("tags");

-- CreateIndex
CREATE INDEX "acls_tags_idx" ON "acls" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "acls_consumer_id_group_key" ON "acls"("consumer_id", "group");

-- AddForeignKey
ALTER TABLE "services" ADD CONSTRAINT "services_client_certificate_id_fkey" FOREIGN KEY ("client_certificate_id") REFERENCES "certificates"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "upstreams" ADD CONSTRAINT "upstreams_client_certificate_id_fkey" FOREIGN KEY ("client_certificate_id") REFERENCES "certificates"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "targets" ADD CONSTRAINT "targets_upstream_id_fkey" FOREIGN KEY ("upstream_id") REFERENCES "upstreams"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "consumer_group_consumers" ADD CONSTRAINT "consumer_group_consumers_consumer_group_id_fkey" FOREIGN KEY ("consumer_group_id") REFERENCES "consumer_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "consumer_group_consumers" ADD CONSTRAINT "consumer_group_consumers_consumer_id_fkey" FOREIGN KEY ("consumer_id") REFERENCES "consumers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "plugins" ADD CONSTRAINT "plugins_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "plugins" ADD CONSTRAINT "plugins_route_id_fkey" FOREIGN KEY ("route_id") REFERENCES "routes"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "plugins" ADD CONSTRAINT "plugins_consumer_id_fkey" FOREIGN KEY ("consumer_id") REFERENCES "consumers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "plugins" ADD CONSTRAINT "plugins_consumer_group_id_fkey" FOREIGN KEY ("consumer_group_id") REFERENCES "consumer_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "snis" ADD CONSTRAINT "snis_certificate_id_fkey" FOREIGN KEY ("certificate_id") REFERENCES "certificates"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "keyauth_credentials" ADD CONSTRAINT "keyauth_credentials_consumer_id_fkey" FOREIGN KEY ("consumer_id") REFERENCES "consumers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "basicauth_credentials" ADD CONSTRAINT "basicauth_credentials_consumer_id_fkey" FOREIGN KEY ("consumer_id") REFERENCES "consumers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "jwt_secrets" ADD CONSTRAINT "jwt_secrets_consumer_id_fkey" FOREIGN KEY ("consumer_id") REFERENCES "consumers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "hmacauth_credentials" ADD CONSTRAINT "hmacauth_credentials_consumer_id_fkey" FOREIGN KEY ("consumer_id") REFERENCES "consumers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "acls" ADD CONSTRAINT "acls_consumer_id_fkey" FOREIGN KEY ("consumer_id") REFERENCES "consumers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
