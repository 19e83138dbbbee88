-- A saga id may be re-used after Temporal's retention (the API derives it from an Idempotency-Key): each
-- run has its own order id, from which every business id is derived, so "sagaId" is no longer unique.

-- DropIndex
DROP INDEX "Payment_sagaId_key";

-- CreateIndex
CREATE INDEX "Payment_sagaId_idx" ON "Payment"("sagaId");
