import { sagaWorkflow } from '../saga/engine';
import { orderSagaV1 } from './v1';
import { orderSagaV2 } from './v2';

export type { OrderSagaData, OrderSagaInput } from './types';

/** Every released version of the order saga, oldest first; new sagas run the last. */
export const ORDER_SAGA_VERSIONS = [orderSagaV1, orderSagaV2] as const;

/** The workflow type started by the API: `orderSaga`. */
export const orderSaga = sagaWorkflow(...ORDER_SAGA_VERSIONS);

/** The version new order sagas run. */
export const latestOrderSaga = ORDER_SAGA_VERSIONS[
  ORDER_SAGA_VERSIONS.length - 1
] as (typeof ORDER_SAGA_VERSIONS)[number];
