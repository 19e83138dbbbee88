import { Router } from 'express';
import { requireScope } from '../auth';
import type { SagaService } from '../saga-service';
import { refundPathSchema, refundRequestSchema, startSagaQuerySchema } from '../schemas';
import { parse } from '../validate';
import { callerOf } from './sagas';
import { sendStarted } from './started';

/** Refunds of completed orders: each starts (once per order) a refund saga, read like any saga after. */
export function refundsRouter(sagas: SagaService): Router {
  const router = Router();

  router.post('/orders/:orderId/refund', requireScope('sagas:start'), async (req, res) => {
    const { orderId } = parse(refundPathSchema, req.params, 'path');
    const { waitSeconds } = parse(startSagaQuerySchema, req.query, 'query');
    parse(refundRequestSchema, req.body, 'body');
    const caller = callerOf(req);
    await sendStarted(res, sagas, await sagas.startRefund(orderId, caller), waitSeconds, caller);
  });

  return router;
}
