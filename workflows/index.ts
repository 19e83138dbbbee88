/** Every workflow the orchestrator worker registers. */
export { orderSaga } from './order-saga';
export { refundSaga } from './refund-saga';
export { bareOrderWorkflow } from './baseline';
export { readStock } from './stock';
