-- CreateTable
CREATE TABLE "oauth2_credentials" (
    "id" UUID NOT NULL,
    "consumer_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "client_secret" TEXT NOT NULL,
    "hash_secret" BOOLEAN NOT NULL DEFAULT false,
    "redirect_uris" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "client_type" TEXT NOT NULL DEFAULT 'confidential',
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "oauth2_credentials_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "oauth2_token_revocations" (
    "id" UUID NOT NULL,
    "credential_id" UUID NOT NULL,
    "jti" TEXT NOT NULL,
    "expires_at" INTEGER NOT NULL,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "oauth2_token_revocations_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "oauth2_credentials_client_id_key" ON "oauth2_credentials"("client_id");

-- CreateIndex
CREATE INDEX "oauth2_credentials_consumer_id_idx" ON "oauth2_credentials"("consumer_id");

-- CreateIndex
CREATE INDEX "oauth2_credentials_tags_idx" ON "oauth2_credentials" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "oauth2_token_revocations_jti_key" ON "oauth2_token_revocations"("jti");

-- CreateIndex
CREATE INDEX "oauth2_token_revocations_credential_id_idx" ON "oauth2_token_revocations"("credential_id");

-- CreateIndex
CREATE INDEX "oauth2_token_revocations_expires_at_idx" ON "oauth2_token_revocations"("expires_at");

-- CreateIndex
CREATE INDEX "oauth2_token_revocations_tags_idx" ON "oauth2_token_revocations" USING GIN ("tags");

-- AddForeignKey
ALTER TABLE "oauth2_credentials" ADD CONSTRAINT "oauth2_credentials_consumer_id_fkey" FOREIGN KEY ("consumer_id") REFERENCES "consumers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "oauth2_token_revocations" ADD CONSTRAINT "oauth2_token_revocations_credential_id_fkey" FOREIGN KEY ("credential_id") REFERENCES "oauth2_credentials"("id") ON DELETE CASCADE ON UPDATE CASCADE;
