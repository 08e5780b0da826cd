-- The consumer's name (username, else custom_id) beside its id, as services and routes have theirs:
-- /analytics/consumers can then name a consumer and filter by it.
ALTER TABLE "analytics_history" ADD COLUMN "consumer_name" TEXT NOT NULL DEFAULT '';
ALTER TABLE "analytics_history_hourly" ADD COLUMN "consumer_name" TEXT NOT NULL DEFAULT '';
