-- CreateTable
CREATE TABLE "oauth2_signing_keys" (
    "kid" TEXT NOT NULL,
    "secret" TEXT NOT NULL,
    "not_before" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "oauth2_signing_keys_pkey" PRIMARY KEY ("kid")
);
