import { upsertSearchAttributes } from '@temporalio/workflow';
import { orders } from '../activities/orders/service';
import { payments } from '../activities/payments/service';
import { shipments } from '../activities/shipments/service';
import { inventory } from '../activities/inventory/service';
import { customerIdKey } from '../shared/search-attributes';
import { defineSaga, parallel, stepsOf } from './saga/definition';
import { sagaWorkflow, type SagaWorkflowInput } from './saga/engine';

/** What the API starts a refund with: the order whose order saga completed. */
export interface RefundSagaInput {
  orderId: string;
}

/** What the refund learned; returned as the saga's outcome data. */
export interface RefundSagaData {
  customerId?: string;
  paymentId?: string;
  /** Given back, in minor units of the currency. */
  refundedAmount?: number;
  currency?: string;
}

const step = stepsOf<RefundSagaInput, RefundSagaData>();

/**
 * Refund of a completed order. Open the refund on the order (undone if the refund does not happen), then
 * the pivot: the payment refund, after which the saga only goes forward: the shipment is cancelled and
 * its units restocked side by side, then the order closed REFUNDED, each retried until it succeeds.
 * Every service is addressed by the order's business ids (its payment, shipment and reservation), never
 * by the saga that created them.
 */
export const refundSagaV1 = defineSaga<
  RefundSagaInput,
  RefundSagaData,
  'orders' | 'payments' | 'shipments' | 'inventory'
>({
  name: 'refund',
  version: 1,
  services: [orders, payments, shipments, inventory],
  initialData: () => ({}),
  steps: [
    step({
      name: 'openRefund',
      action: ({ input }) => orders.call('requestRefund', { orderId: input.orderId }),
      onResult: ({ data }, result) => {
        data.customerId = result.customerId;
        // The API knows only the order when it starts a refund; the order knows its customer.
        upsertSearchAttributes([{ key: customerIdKey, value: result.customerId }]);
      },
      compensation: ({ input }) => orders.call('abortRefund', { orderId: input.orderId }),
    }),
    step({
      name: 'refundPayment',
      kind: 'pivot',
      action: ({ input }) => payments.call('refundPayment', { orderId: input.orderId }),
      onResult: ({ data }, result) => {
        data.paymentId = result.paymentId;
        data.refundedAmount = result.amount;
        data.currency = result.currency;
      },
      // Its technical failures (provider or database down) are retried far longer than a step's: a pivot
      // given up on is compensated like any step, and the provider may have refunded by then.
      policy: { deadline: '6h' },
    }),
    parallel([
      step({
        name: 'cancelShipment',
        kind: 'retriable',
        action: ({ input }) => shipments.call('cancelShipment', { orderId: input.orderId }),
      }),
      // An order of order saga version 1 reserved nothing: releasing then leaves a tombstone, nothing else.
      step({
        name: 'restock',
        kind: 'retriable',
        action: ({ input }) => inventory.call('releaseStock', { orderId: input.orderId }),
      }),
    ]),
    step({
      name: 'closeRefund',
      kind: 'retriable',
      action: ({ input }) => orders.call('completeRefund', { orderId: input.orderId }),
    }),
  ],
});

/** Every released version of the refund saga, oldest first; new sagas run the last. */
export const REFUND_SAGA_VERSIONS = [refundSagaV1] as const;

/** The workflow type the API starts for `POST /orders/{orderId}/refund`: `refundSaga`. */
export const refundSaga = sagaWorkflow(...REFUND_SAGA_VERSIONS);

export type RefundSagaWorkflowInput = SagaWorkflowInput<RefundSagaInput>;
