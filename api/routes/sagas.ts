import { Router } from 'express';
import { z } from '../../shared/zod';
import { orderRequestSchema } from '../../shared/order';
import type { SagaService } from '../saga-service';
import {
  idempotencyKeySchema,
  listSagasQuerySchema,
  resolveRequestSchema,
  sagaIdSchema,
  startSagaQuerySchema,
} from '../schemas';
import { parse } from '../validate';
import { sendStarted } from './started';

const noQuery = z.strictObject({});
const sagaPath = z.strictObject({ sagaId: sagaIdSchema });

/** Start, read, list, cancel and repair sagas. Every input is validated before Temporal is called. */
export function sagasRouter(sagas: SagaService): Router {
  const router = Router();

  router.post('/sagas', async (req, res) => {
    const { waitSeconds } = parse(startSagaQuerySchema, req.query, 'query');
    const keyHeader = req.get('idempotency-key');
    const key = keyHeader === undefined ? undefined : parse(idempotencyKeySchema, keyHeader, 'header');
    const order = parse(orderRequestSchema, req.body, 'body');
    const started = await sagas.start(
      order,
      key ? { scope: req.principal?.keyId ?? 'anonymous', key } : undefined,
    );
    await sendStarted(res, sagas, started, waitSeconds);
  });

  router.get('/sagas', async (req, res) => {
    const query = parse(listSagasQuerySchema, req.query, 'query');
    res.json(await sagas.list(query));
  });

  router.get('/sagas/:sagaId', async (req, res) => {
    parse(noQuery, req.query, 'query');
    const { sagaId } = parse(sagaPath, req.params, 'path');
    res.locals.sagaId = sagaId;
    res.json(await sagas.get(sagaId));
  });

  router.post('/sagas/:sagaId/cancel', async (req, res) => {
    const { sagaId } = parse(sagaPath, req.params, 'path');
    res.locals.sagaId = sagaId;
    res.status(202).json({ sagaId, status: await sagas.cancel(sagaId) });
  });

  router.post('/sagas/:sagaId/resume', async (req, res) => {
    const { sagaId } = parse(sagaPath, req.params, 'path');
    res.locals.sagaId = sagaId;
    res.status(202).json({ sagaId, status: await sagas.resume(sagaId) });
  });

  router.post('/sagas/:sagaId/resolve', async (req, res) => {
    const { sagaId } = parse(sagaPath, req.params, 'path');
    res.locals.sagaId = sagaId;
    const { note } = parse(resolveRequestSchema, req.body, 'body');
    res.json({ sagaId, status: await sagas.resolve(sagaId, note) });
  });

  return router;
}
