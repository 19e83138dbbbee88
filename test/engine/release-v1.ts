/**
 * The engine tests' orchestrator as released before version 2 of the versioned saga: only version 1.
 * versioning.test.ts bundles it as the "old" orchestrator.
 */
import { sagaWorkflow } from '../../workflows/saga';
import { versionedV1 } from './sagas';

export const versionedSaga = sagaWorkflow(versionedV1);
