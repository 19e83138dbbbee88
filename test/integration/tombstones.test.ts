import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { ActivityMeta } from '../../shared/activity-meta';
import type { ServiceName } from '../../shared/config';
import { latestOrderSaga, type OrderSagaInput } from '../../workflows/order-saga';
import { flattenSteps } from '../../workflows/saga/definition';
import { connectServiceActivities, type ServiceActivities } from '../../worker/service-activities';
import { requireEnv, TEST_ENV } from '../support/env';
import { sampleOrder } from '../support/orders';
import { openServiceDbs } from '../support/rows';
import { dbEnv, TEST_SAGA_CONFIG } from '../support/stack';
import { sagaSettingsFromConfig } from '../../shared/saga-settings';

/**
 * The rule every compensation must keep: run before its step (a cancel that overtook the step, a step
 * whose outcome was unknown), it leaves a tombstone, and the step arriving late then does nothing. Checked
 * for every compensation of the saga definition, on each service's real activities and database.
 */
const compensated = flattenSteps(latestOrderSaga).flatMap(({ step }) => (step.compensation ? [step] : []));

describe('every compensation leaves a tombstone that a late step respects', () => {
  const services = new Map<string, ServiceActivities>();
  const dbs = openServiceDbs();

  afterAll(async () => {
    await Promise.all([...services.values()].map((s) => s.close()));
    await dbs.close();
  });

  const activitiesOf = (service: string) => {
    let running = services.get(service);
    if (!running) {
      running = connectServiceActivities(service as ServiceName, {
        databaseUrl: requireEnv(dbEnv(service as ServiceName)),
        poolSize: 2,
        providerDatabaseUrl: requireEnv(TEST_ENV.providerDb),
      });
      services.set(service, running);
    }
    return running.activities;
  };

  test('the saga has compensations to check', () => {
    expect(compensated.map((s) => s.name)).toEqual([
      'createOrder',
      'reserveStock',
      'authorizePayment',
      'scheduleShipment',
    ]);
  });

  test.each(compensated.map((s) => s.name))('%s: compensation first, then the late step', async (name) => {
    const step = compensated.find((s) => s.name === name);
    if (!step?.compensation) throw new Error(`no compensation for ${name}`);
    const sagaId = `order-${randomUUID()}`;
    const input: OrderSagaInput = {
      orderId: `ord_${randomUUID()}`,
      order: sampleOrder(),
      settings: sagaSettingsFromConfig(TEST_SAGA_CONFIG, 'unused-'),
    };
    const ctx = { sagaId, input, data: {} };
    const run = async (call: { service: string; activity: string; input: unknown }, meta: ActivityMeta) => {
      const activity = activitiesOf(call.service)[call.activity];
      if (!activity) throw new Error(`${call.service} has no activity ${call.activity}`);
      return new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') })
        .run(activity, call.input, meta)
        .then(
          () => 'done',
          (error: Error) => `failed: ${error.message}`,
        );
    };
    const key = `${sagaId}/run-1/${name}`;
    // The step's outcome is unknown (it has not run yet): the compensation is built from the input only.
    const undo = await run(step.compensation(ctx, undefined), {
      sagaId,
      idempotencyKey: `${key}/compensate`,
      role: 'compensation',
    });
    expect(undo).toBe('done');
    await run(step.action(ctx), { sagaId, idempotencyKey: key, role: 'step' });

    const rows = await dbs.rowsOf({ orderId: input.orderId });
    const service = step.action(ctx).service as ServiceName;
    // The compensation's tombstone came first, and the late step applied nothing after it.
    expect(rows.effects[service][0]).toMatch(/:tombstone$/);
    expect(rows.effects[service].slice(1).every((e) => e.endsWith(':none'))).toBe(true);
    const row = {
      orders: rows.order,
      payments: rows.payment,
      shipments: rows.shipment,
      inventory: rows.reservation,
    }[service];
    expect(['CANCELLED', 'VOIDED', 'RELEASED']).toContain(row?.status);
    if (service === 'payments') expect(rows.charges.filter((c) => c.status === 'authorized')).toEqual([]);
  });
});
