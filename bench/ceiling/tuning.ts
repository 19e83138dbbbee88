import { z } from '../../shared/zod';

/**
 * Worker options a dispatch experiment may change (bench/dispatch.ts); unset, the SDK's defaults apply.
 * Passed to the ceiling's worker process as JSON in CEILING_WORKER_TUNING.
 */
const pollerBehaviorSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('simple-maximum'), maximum: z.number().int().positive().optional() }),
  z.object({
    type: z.literal('autoscaling'),
    minimum: z.number().int().positive().optional(),
    maximum: z.number().int().positive().optional(),
    initial: z.number().int().positive().optional(),
  }),
]);

export const workflowWorkerTuningSchema = z
  .object({
    maxConcurrentWorkflowTaskExecutions: z.number().int().positive(),
    maxConcurrentWorkflowTaskPolls: z.number().int().positive(),
    workflowTaskPollerBehavior: pollerBehaviorSchema,
    nonStickyToStickyPollRatio: z.number().positive().max(1),
    maxCachedWorkflows: z.number().int().nonnegative(),
    /** Milliseconds. */
    stickyQueueScheduleToStartTimeout: z.number().int().positive(),
  })
  .partial()
  .strict();

export const activityWorkerTuningSchema = z
  .object({
    maxConcurrentActivityTaskExecutions: z.number().int().positive(),
    maxConcurrentActivityTaskPolls: z.number().int().positive(),
    activityTaskPollerBehavior: pollerBehaviorSchema,
  })
  .partial()
  .strict();

export const ceilingTuningSchema = z
  .object({ workflow: workflowWorkerTuningSchema, activity: activityWorkerTuningSchema })
  .partial()
  .strict();

export type CeilingTuning = z.infer<typeof ceilingTuningSchema>;
