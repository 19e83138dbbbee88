import { Router } from 'express';
import { z } from '../../shared/zod';
import { requireScope } from '../auth';
import { HttpProblem } from '../problem';
import type { SagaService } from '../saga-service';
import { stockPathSchema } from '../schemas';
import { parse } from '../validate';

const noQuery = z.strictObject({});

/** What the inventory holds of a SKU, as orders can reserve it. */
export function stockRouter(sagas: SagaService): Router {
  const router = Router();

  router.get('/stock/:sku', requireScope('sagas:read'), async (req, res) => {
    parse(noQuery, req.query, 'query');
    const { sku } = parse(stockPathSchema, req.params, 'path');
    const level = await sagas.readStock(sku);
    if (!level) throw new HttpProblem(404, 'sku-not-stocked', `SKU ${sku} is not stocked`);
    res.json(level);
  });

  return router;
}
