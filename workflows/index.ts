/** Every workflow the orchestrator worker registers. */
export { orderSaga } from './order-saga';
export { bareOrderWorkflow } from './baseline';
