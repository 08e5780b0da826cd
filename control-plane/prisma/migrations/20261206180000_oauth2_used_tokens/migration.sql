-- CreateTable
CREATE TABLE "oauth2_used_tokens" (
    "jti" TEXT NOT NULL,
    "credential_id" UUID NOT NULL,
    "expires_at" BIGINT NOT NULL,
    "revoked" BOOLEAN NOT NULL DEFAULT false,
    "used_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "oauth2_used_tokens_pkey" PRIMARY KEY ("jti")
);

-- CreateIndex
CREATE INDEX "oauth2_used_tokens_credential_id_idx" ON "oauth2_used_tokens"("credential_id");

-- CreateIndex
CREATE INDEX "oauth2_used_tokens_expires_at_idx" ON "oauth2_used_tokens"("expires_at");

-- CreateIndex
CREATE INDEX "oauth2_used_tokens_revoked_expires_at_idx" ON "oauth2_used_tokens"("revoked", "expires_at");

-- AddForeignKey
ALTER TABLE "oauth2_used_tokens" ADD CONSTRAINT "oauth2_used_tokens_credential_id_fkey" FOREIGN KEY ("credential_id") REFERENCES "oauth2_credentials"("id") ON DELETE CASCADE ON UPDATE CASCADE;
