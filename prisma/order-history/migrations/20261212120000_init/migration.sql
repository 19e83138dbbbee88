-- Order-history read model (read-models/order-history): each order's timeline of domain events, and the
-- consumer's position in the stream.

-- CreateTable
CREATE TABLE "TimelineEntry" (
    "eventId" UUID NOT NULL,
    "orderId" TEXT NOT NULL,
    "aggregateType" TEXT NOT NULL,
    "aggregateId" TEXT NOT NULL,
    "sequence" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "occurredAt" TIMESTAMPTZ(3) NOT NULL,
    "sagaId" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "streamSequence" BIGINT NOT NULL,
    "appliedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TimelineEntry_pkey" PRIMARY KEY ("eventId"),
    CONSTRAINT "TimelineEntry_sequence_positive" CHECK ("sequence" >= 1)
);

-- CreateTable
CREATE TABLE "ConsumerPosition" (
    "consumer" TEXT NOT NULL,
    "lastStreamSequence" BIGINT NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ConsumerPosition_pkey" PRIMARY KEY ("consumer")
);

-- CreateIndex
CREATE UNIQUE INDEX "TimelineEntry_aggregateType_aggregateId_sequence_key" ON "TimelineEntry"("aggregateType", "aggregateId", "sequence");

-- CreateIndex
CREATE INDEX "TimelineEntry_orderId_occurredAt_sequence_idx" ON "TimelineEntry"("orderId", "occurredAt", "sequence");
