-- Transactional outbox (activities/shared/outbox.ts): one domain event per effect, written in the effect's
-- transaction; OutboxSequence holds each aggregate's last sequence, so sequences have no gaps.
-- The same in every service's database.

-- CreateTable
CREATE TABLE "OutboxEvent" (
    "id" UUID NOT NULL,
    "aggregateType" TEXT NOT NULL,
    "aggregateId" TEXT NOT NULL,
    "sequence" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "occurredAt" TIMESTAMPTZ(3) NOT NULL,
    "sagaId" TEXT NOT NULL,
    "publishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "OutboxEvent_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "OutboxEvent_sequence_positive" CHECK ("sequence" >= 1)
);

-- CreateTable
CREATE TABLE "OutboxSequence" (
    "aggregateType" TEXT NOT NULL,
    "aggregateId" TEXT NOT NULL,
    "last" INTEGER NOT NULL,

    CONSTRAINT "OutboxSequence_pkey" PRIMARY KEY ("aggregateType","aggregateId")
);

-- CreateIndex
CREATE UNIQUE INDEX "OutboxEvent_aggregateType_aggregateId_sequence_key" ON "OutboxEvent"("aggregateType", "aggregateId", "sequence");

-- CreateIndex
CREATE INDEX "OutboxEvent_sagaId_idx" ON "OutboxEvent"("sagaId");
