import { Router } from 'express';
import type { Client } from '@temporalio/client';

/** Liveness needs nothing; readiness needs Temporal to answer. */
export function healthRouter(client: Client, namespace: string): Router {
  const router = Router();
  router.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/ready', async (_req, res) => {
    try {
      await client.withDeadline(Date.now() + 2000, () =>
        client.workflowService.describeNamespace({ namespace }),
      );
      res.json({ status: 'ok', temporal: 'reachable' });
    } catch {
      res.status(503).type('application/problem+json').json({
        type: 'https://saga.dev/problems/not-ready',
        title: 'Service Unavailable',
        status: 503,
        detail: 'Temporal is not reachable',
      });
    }
  });
  return router;
}
