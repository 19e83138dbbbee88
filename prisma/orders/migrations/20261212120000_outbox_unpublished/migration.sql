-- The outbox relay (activities/shared/outbox-relay.ts) reads the unpublished rows oldest first, and the
-- backlog metrics count them: a partial index keeps both cheap however many published rows accumulate.
-- Prisma's schema cannot express a partial index, so it lives in this migration only.
-- The same in every service's database.

-- CreateIndex
CREATE INDEX "OutboxEvent_unpublished_idx" ON "OutboxEvent"("occurredAt", "sequence", "id") WHERE "publishedAt" IS NULL;
