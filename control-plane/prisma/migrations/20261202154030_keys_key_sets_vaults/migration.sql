-- CreateTable
CREATE TABLE "key_sets" (
    "id" UUID NOT NULL,
    "name" TEXT,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "key_sets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "keys" (
    "id" UUID NOT NULL,
    "set_id" UUID,
    "name" TEXT,
    "kid" TEXT NOT NULL,
    "jwk" TEXT,
    "pem" JSONB,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "vaults" (
    "id" UUID NOT NULL,
    "prefix" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "config" JSONB NOT NULL,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "vaults_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "key_sets_name_key" ON "key_sets"("name");

-- CreateIndex
CREATE INDEX "key_sets_tags_idx" ON "key_sets" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "keys_name_key" ON "keys"("name");

-- CreateIndex
CREATE INDEX "keys_set_id_idx" ON "keys"("set_id");

-- CreateIndex
CREATE INDEX "keys_tags_idx" ON "keys" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "keys_kid_set_id_key" ON "keys"("kid", "set_id");

-- CreateIndex
CREATE UNIQUE INDEX "vaults_prefix_key" ON "vaults"("prefix");

-- CreateIndex
CREATE INDEX "vaults_tags_idx" ON "vaults" USING GIN ("tags");

-- AddForeignKey
ALTER TABLE "keys" ADD CONSTRAINT "keys_set_id_fkey" FOREIGN KEY ("set_id") REFERENCES "key_sets"("id") ON DELETE CASCADE ON UPDATE CASCADE;
