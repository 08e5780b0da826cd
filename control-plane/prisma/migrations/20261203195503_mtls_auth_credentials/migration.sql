-- CreateTable
CREATE TABLE "mtls_auth_credentials" (
    "id" UUID NOT NULL,
    "consumer_id" UUID NOT NULL,
    "subject_name" TEXT NOT NULL,
    "ca_certificate_id" UUID,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "empty_lists" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mtls_auth_credentials_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "mtls_auth_credentials_consumer_id_idx" ON "mtls_auth_credentials"("consumer_id");

-- CreateIndex
CREATE INDEX "mtls_auth_credentials_subject_name_idx" ON "mtls_auth_credentials"("subject_name");

-- CreateIndex
CREATE INDEX "mtls_auth_credentials_tags_idx" ON "mtls_auth_credentials" USING GIN ("tags");

-- AddForeignKey
ALTER TABLE "mtls_auth_credentials" ADD CONSTRAINT "mtls_auth_credentials_consumer_id_fkey" FOREIGN KEY ("consumer_id") REFERENCES "consumers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "mtls_auth_credentials" ADD CONSTRAINT "mtls_auth_credentials_ca_certificate_id_fkey" FOREIGN KEY ("ca_certificate_id") REFERENCES "ca_certificates"("id") ON DELETE CASCADE ON UPDATE CASCADE;
