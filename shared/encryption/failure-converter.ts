import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Loaded by path (also inside the workflow sandbox): failure messages and stack traces go into an encoded
 * attributes payload, which the codec then encrypts, since a failure can quote customer data.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
