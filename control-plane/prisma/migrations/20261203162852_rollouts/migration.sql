-- CreateTable
CREATE TABLE "rollouts" (
    "id" UUID NOT NULL,
    "state" TEXT NOT NULL,
    "plan" JSONB NOT NULL,
    "wave" INTEGER NOT NULL,
    "wave_started_at" TIMESTAMPTZ(3) NOT NULL,
    "waves" JSONB NOT NULL,
    "base_version" BIGINT NOT NULL,
    "target_version" BIGINT NOT NULL,
    "base_config" JSONB NOT NULL,
    "rollback_version" BIGINT,
    "reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rollouts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "rollouts_state_idx" ON "rollouts"("state");
