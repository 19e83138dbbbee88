import {
  captureTransition,
  decideAuthorization,
  isUnavailable,
  providerKeys,
  refundTransition,
  releaseTransition,
} from '../../activities/payments/provider';
import { paymentIdOf } from '../../activities/payments/activities';
import { shipmentIdOf, trackingNumberOf } from '../../activities/shipments/activities';
import { scopedKey } from '../../activities/shared/idempotency';
import { unserviceableReason } from '../../activities/shipments/serviceability';
import { orderStateMachine } from '../../activities/orders/state-machine';
import { paymentStateMachine } from '../../activities/payments/state-machine';
import { shipmentStateMachine } from '../../activities/shipments/state-machine';
import { backoffDelay } from '../../workflows/saga/backoff';

const address = { name: 'A', line1: 'B', city: 'C', postalCode: '10115', country: 'DE' };

describe('simulated payment provider', () => {
  test.each([
    ['tok_visa', 1, 'approve'],
    ['tok_chargeDeclined', 1, 'decline'],
    ['tok_chargeDeclinedInsufficientFunds', 1, 'decline'],
    ['tok_unknown', 1, 'decline'],
    ['tok_processingError', 1, 'unavailable'],
    ['tok_processingError', 2, 'unavailable'],
    ['tok_processingError', 3, 'approve'],
    ['tok_processingError_4', 4, 'unavailable'],
    ['tok_processingError_4', 5, 'approve'],
    ['tok_timeout', 1, 'hang'],
    ['tok_processingError_0', 1, 'approve'],
  ])('%s on call %i of its idempotency key: %s', (token, call, kind) => {
    expect(decideAuthorization(token, call).kind).toBe(kind);
  });

  test('capture captures an authorization (again: still captured) and refuses the rest', () => {
    expect(captureTransition('authorized')).toBe('captured');
    expect(captureTransition('captured')).toBe('captured');
    for (const status of ['declined', 'voided', 'refunded'] as const) {
      expect(captureTransition(status)).toBe('refused');
    }
  });

  test('release voids an authorization, refunds a capture, leaves the rest alone', () => {
    expect(releaseTransition('authorized')).toBe('voided');
    expect(releaseTransition('captured')).toBe('refunded');
    for (const status of ['declined', 'voided', 'refunded'] as const) {
      expect(releaseTransition(status)).toBe(status);
    }
  });

  test('refund refunds a capture (again: still refunded) and refuses what was never taken', () => {
    expect(refundTransition('captured')).toBe('refunded');
    expect(refundTransition('refunded')).toBe('refunded');
    for (const status of ['authorized', 'declined', 'voided'] as const) {
      expect(refundTransition(status)).toBe('refused');
    }
  });

  test('the outage switch is on until its time, not at or after it', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    expect(isUnavailable(new Date('2026-12-01T12:00:01Z'), now)).toBe(true);
    expect(isUnavailable(now, now)).toBe(false);
    expect(isUnavailable(new Date('2026-12-01T11:59:59Z'), now)).toBe(false);
    expect(isUnavailable(null, now)).toBe(false);
  });

  test('one idempotency key per operation on a payment, the authorization keyed by the payment id', () => {
    const keys = providerKeys('pay_ord_1');
    expect(keys.authorize).toBe('pay_ord_1');
    expect(new Set(Object.values(keys)).size).toBe(Object.values(keys).length);
  });
});

describe('business ids', () => {
  test('derive from the order id (new per run), never from the saga id', () => {
    expect(paymentIdOf('ord_1')).toBe('pay_ord_1');
    expect(shipmentIdOf('ord_1')).toBe('shp_ord_1');
    expect(trackingNumberOf('ord_1')).toBe('TRK-ord_1');
  });
  test('ledger keys are scoped by the business id: one saga key on two orders gives two keys', () => {
    expect(scopedKey('ord_1', 'order-x/createOrder')).not.toBe(scopedKey('ord_2', 'order-x/createOrder'));
  });
});

describe('shipment serviceability', () => {
  test('serves known countries', () => expect(unserviceableReason(address)).toBeUndefined());
  test('refuses unknown countries', () =>
    expect(unserviceableReason({ ...address, country: 'AQ' })).toMatch(/AQ/));
  test('refuses all-zero postal codes', () =>
    expect(unserviceableReason({ ...address, postalCode: '000 00' })).toMatch(/postal/));
});

describe('state machines', () => {
  test('orders: approve from PENDING (or back from an aborted refund); cancel before a refund completes', () => {
    expect(orderStateMachine.sourcesOf('APPROVED').sort()).toEqual(['PENDING', 'REFUND_REQUESTED']);
    expect(orderStateMachine.sourcesOf('CANCELLED').sort()).toEqual([
      'APPROVED',
      'PENDING',
      'REFUND_REQUESTED',
    ]);
    expect(orderStateMachine.canTransition('CANCELLED', 'APPROVED')).toBe(false);
  });
  test('orders: only an approved order is refunded, through REFUND_REQUESTED; REFUNDED is final', () => {
    expect(orderStateMachine.sourcesOf('REFUND_REQUESTED')).toEqual(['APPROVED']);
    expect(orderStateMachine.sourcesOf('REFUNDED')).toEqual(['REFUND_REQUESTED']);
    for (const to of ['PENDING', 'APPROVED', 'CANCELLED', 'REFUND_REQUESTED'] as const) {
      expect(orderStateMachine.canTransition('REFUNDED', to)).toBe(false);
    }
  });
  test('payments: capture only an authorization; refund only a capture; a decline is final', () => {
    expect(paymentStateMachine.sourcesOf('CAPTURED')).toEqual(['AUTHORIZED']);
    expect(paymentStateMachine.sourcesOf('REFUNDED')).toEqual(['CAPTURED']);
    expect(paymentStateMachine.sourcesOf('VOIDED')).toEqual(['AUTHORIZED']);
    expect(paymentStateMachine.canTransition('DECLINED', 'CAPTURED')).toBe(false);
  });
  test('shipments: cancel only a scheduled shipment', () => {
    expect(shipmentStateMachine.sourcesOf('CANCELLED')).toEqual(['SCHEDULED']);
  });
});

describe('backoff', () => {
  const policy = {
    startToCloseTimeout: '1s',
    maximumAttempts: 10,
    initialInterval: '100ms',
    maximumInterval: '1s',
    backoffCoefficient: 2,
  } as const;
  test('grows exponentially from the initial interval and is capped', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(policy, attempt))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });
});
