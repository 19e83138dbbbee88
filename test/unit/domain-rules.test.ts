import { decideAuthorization } from '../../activities/payments/provider';
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
  ])('%s on attempt %i: %s', (token, attempt, kind) => {
    expect(decideAuthorization(token, attempt).kind).toBe(kind);
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
  test('orders: approve only from PENDING; cancel from PENDING or APPROVED', () => {
    expect(orderStateMachine.sourcesOf('APPROVED')).toEqual(['PENDING']);
    expect(orderStateMachine.sourcesOf('CANCELLED').sort()).toEqual(['APPROVED', 'PENDING']);
    expect(orderStateMachine.canTransition('CANCELLED', 'APPROVED')).toBe(false);
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
