import { Router } from 'express';
import { z } from '../../shared/zod';
import { requireScope } from '../auth';
import type { OrderTimelines } from '../order-timelines';
import { HttpProblem } from '../problem';
import type { SagaService } from '../saga-service';
import { timelinePathSchema, type OrderTimelineView } from '../schemas';
import { parse } from '../validate';
import { callerOf } from './sagas';

const noQuery = z.strictObject({});

/**
 * An order's timeline from the order-history read model. The read model does not know who started an
 * order; the order saga's StartedBy does, so a caller without sagas:operate is checked against it, as for
 * a refund, and another's order answers exactly as an unknown one.
 */
export function timelineRouter(sagas: SagaService, timelines: OrderTimelines | undefined): Router {
  const router = Router();

  router.get('/orders/:orderId/timeline', requireScope('sagas:read'), async (req, res) => {
    parse(noQuery, req.query, 'query');
    const { orderId } = parse(timelinePathSchema, req.params, 'path');
    if (!timelines) {
      throw new HttpProblem(503, 'order-history-unavailable', 'this API has no order-history read model');
    }
    const caller = callerOf(req);
    const timeline = await timelines.read(orderId);
    if (!timeline || (!caller.operator && !(await sagas.startedOrder(orderId, caller)))) {
      throw new HttpProblem(
        404,
        'timeline-not-found',
        `no event of order ${orderId} has been applied to its timeline yet ` +
          '(the timeline is eventually consistent: a new order appears within moments)',
      );
    }
    const body: OrderTimelineView = { ...timeline, consistency: 'eventual' };
    res.json(body);
  });

  return router;
}
