-- CreateTable
CREATE TABLE "config_history" (
    "version" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "author" TEXT NOT NULL,
    "note" TEXT,
    "hash" TEXT,
    "summary" TEXT,
    "content_hash" TEXT,
    "recorded_at" TIMESTAMPTZ(3),

    CONSTRAINT "config_history_pkey" PRIMARY KEY ("version")
);

-- CreateTable
CREATE TABLE "config_history_content" (
    "hash" TEXT NOT NULL,
    "gzip" BYTEA NOT NULL,

    CONSTRAINT "config_history_content_pkey" PRIMARY KEY ("hash")
);

-- CreateIndex
CREATE INDEX "config_history_hash_version_idx" ON "config_history"("hash", "version");

-- AddForeignKey
ALTER TABLE "config_history" ADD CONSTRAINT "config_history_content_hash_fkey" FOREIGN KEY ("content_hash") REFERENCES "config_history_content"("hash") ON DELETE RESTRICT ON UPDATE CASCADE;
