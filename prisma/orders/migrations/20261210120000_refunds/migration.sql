-- Refunds of completed orders (the refund saga): an APPROVED order can be REFUND_REQUESTED, then REFUNDED.
-- New enum values may be added inside the migration's transaction as long as it does not use them.

-- AlterEnum
ALTER TYPE "OrderStatus" ADD VALUE 'REFUND_REQUESTED';
ALTER TYPE "OrderStatus" ADD VALUE 'REFUNDED';

-- AlterTable
ALTER TABLE "Order" ADD COLUMN "refundAbortedBy" TEXT;
