-- CreateEnum
CREATE TYPE "ShipmentStatus" AS ENUM ('SCHEDULED', 'CANCELLED');

-- CreateTable
CREATE TABLE "Shipment" (
    "id" TEXT NOT NULL,
    "sagaId" TEXT NOT NULL,
    "orderId" TEXT NOT NULL,
    "address" JSONB NOT NULL,
    "status" "ShipmentStatus" NOT NULL,
    "trackingNumber" TEXT,
    "cancelledBeforeSchedule" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Shipment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ShipmentOperation" (
    "id" BIGSERIAL NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "sagaId" TEXT NOT NULL,
    "shipmentId" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "outcome" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ShipmentOperation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Shipment_sagaId_key" ON "Shipment"("sagaId");

-- CreateIndex
CREATE UNIQUE INDEX "ShipmentOperation_idempotencyKey_key" ON "ShipmentOperation"("idempotencyKey");

-- CreateIndex
CREATE INDEX "ShipmentOperation_sagaId_idx" ON "ShipmentOperation"("sagaId");
