-- CreateEnum
CREATE TYPE "ReservationStatus" AS ENUM ('RESERVED', 'RELEASED');

-- CreateTable
CREATE TABLE "Stock" (
    "sku" TEXT NOT NULL,
    "available" INTEGER NOT NULL,
    "onHand" INTEGER NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Stock_pkey" PRIMARY KEY ("sku"),
    -- Stock never goes negative under concurrent sagas: the database refuses it, not only the code.
    CONSTRAINT "Stock_available_not_negative" CHECK ("available" >= 0),
    CONSTRAINT "Stock_available_within_on_hand" CHECK ("available" <= "onHand")
);

-- CreateTable
CREATE TABLE "Reservation" (
    "id" TEXT NOT NULL,
    "sagaId" TEXT NOT NULL,
    "orderId" TEXT NOT NULL,
    "items" JSONB NOT NULL,
    "status" "ReservationStatus" NOT NULL,
    "releasedBeforeReserve" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Reservation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "InventoryOperation" (
    "id" BIGSERIAL NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "sagaId" TEXT NOT NULL,
    "reservationId" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "outcome" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "InventoryOperation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Reservation_sagaId_idx" ON "Reservation"("sagaId");

-- CreateIndex
CREATE INDEX "Reservation_orderId_idx" ON "Reservation"("orderId");

-- CreateIndex
CREATE UNIQUE INDEX "InventoryOperation_idempotencyKey_key" ON "InventoryOperation"("idempotencyKey");

-- CreateIndex
CREATE INDEX "InventoryOperation_sagaId_idx" ON "InventoryOperation"("sagaId");
