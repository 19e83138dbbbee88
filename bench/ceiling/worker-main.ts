/**
 * The ceiling's worker process (started by startCeilingWorkers): one workflow worker and two activity
 * workers on one connection, with SDK defaults unless CEILING_WORKER_TUNING says otherwise. SIGTERM or
 * SIGINT shuts them down (the SDK's runtime handles both).
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../../shared/config';
import { z } from '../../shared/zod';
import * as activities from './activities';
import { ceilingQueues } from './queues';
import { ceilingTuningSchema } from './tuning';

const configSchema = z.object({
  CEILING_TEMPORAL_ADDRESS: z.string().min(1),
  CEILING_NAMESPACE: z.string().min(1).default('default'),
  CEILING_TASK_QUEUE_PREFIX: z.string().default(''),
  CEILING_WORKER_TUNING: z
    .string()
    .default('{}')
    .transform((text) => ceilingTuningSchema.parse(JSON.parse(text))),
});

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: config.CEILING_TEMPORAL_ADDRESS });
  const queues = ceilingQueues(config.CEILING_TASK_QUEUE_PREFIX);
  const tuning = config.CEILING_WORKER_TUNING;
  const common = { connection, namespace: config.CEILING_NAMESPACE };
  const workers = await Promise.all([
    Worker.create({
      ...common,
      taskQueue: queues.workflow,
      workflowsPath: require.resolve('./workflows'),
      ...tuning.workflow,
    }),
    ...[queues.activitiesA, queues.activitiesB].map((taskQueue) =>
      Worker.create({ ...common, taskQueue, activities, ...tuning.activity }),
    ),
  ]);
  try {
    await Promise.all(workers.map((worker) => worker.run()));
  } finally {
    await connection.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`ceiling workers failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
