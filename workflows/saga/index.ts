/** The saga engine's public API: define services and sagas, run them as Temporal workflows. */
export {
  defineSaga,
  defineService,
  parallel,
  stepsOf,
  type ActivityCall,
  type ParallelGroup,
  type SagaContext,
  type SagaDefinition,
  type SagaStep,
  type ServiceRef,
  type StepKind,
} from './definition';
export { runSaga, sagaWorkflow, type SagaWorkflowInput } from './engine';
export { cancelSagaUpdate, markResolvedUpdate, resumeCompensationUpdate, sagaStateQuery } from './messages';
