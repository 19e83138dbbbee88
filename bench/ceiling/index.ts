/**
 * The no-op ceiling (issue 15): a 5-activity workflow over three task queues with SDK defaults, no
 * database, no payload encryption and no interceptors, whose workers run in a process of their own (not on
 * the bench's event loop). Beside the saga in one run, it shows what the same Temporal server allows at best.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Connection, type Client } from '@temporalio/client';
import { rssMiB, runTs } from '../../scripts/lib/processes';
import { waitForPollers } from '../../scripts/lib/task-queue-pollers';
import { ceilingQueues } from './queues';
import type { CeilingTuning } from './tuning';

export { ceilingQueues } from './queues';
export type { CeilingTuning } from './tuning';

export interface CeilingWorkersOptions {
  address: string;
  namespace?: string;
  taskQueuePrefix: string;
  /** Worker options to change from the SDK's defaults (dispatch experiments); none by default. */
  tuning?: CeilingTuning;
  /** Where the worker process's output lines go; stderr by default. */
  log?: (line: string) => void;
}

export interface CeilingWorkers {
  /** The worker process (e.g. to read its CPU time). */
  pid: number;
  stop(): Promise<void>;
  /** Resident memory of the worker process, in MiB, from /proc. */
  rssMiB(): number;
}

const ENTRY = path.join(__dirname, 'worker-main.ts');

/** Starts the ceiling's worker process and returns once each of its three queues has a poller. */
export async function startCeilingWorkers(options: CeilingWorkersOptions): Promise<CeilingWorkers> {
  const namespace = options.namespace ?? 'default';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CEILING_TEMPORAL_ADDRESS: options.address,
    CEILING_NAMESPACE: namespace,
    CEILING_TASK_QUEUE_PREFIX: options.taskQueuePrefix,
    CEILING_WORKER_TUNING: JSON.stringify(options.tuning ?? {}),
  };
  const child = runTs(
    'ceiling',
    ENTRY,
    [],
    env,
    options.log ??
      ((line) => {
        // Each worker serves one kind of task and says so at start: expected, not worth a line.
        if (!/No (activities|workflows) registered/.test(line)) process.stderr.write(`${line}\n`);
      }),
  );
  const pid = child.child.pid ?? -1;
  try {
    // A connection of our own: the caller's client may encode payloads or be closed meanwhile.
    const connection = await Connection.connect({ address: options.address });
    const queues = ceilingQueues(options.taskQueuePrefix);
    try {
      await waitForPollers(
        connection.workflowService,
        namespace,
        [
          { name: queues.workflow, type: 'workflow' },
          { name: queues.activitiesA, type: 'activity' },
          { name: queues.activitiesB, type: 'activity' },
        ],
        {
          check: () => {
            if (child.child.exitCode !== null || child.child.signalCode !== null)
              throw new Error('the ceiling worker process exited during start-up');
          },
        },
      );
    } finally {
      await connection.close();
    }
  } catch (error) {
    await child.stop();
    throw error;
  }
  return {
    pid,
    stop: () => child.stop(),
    rssMiB: () => rssMiB(pid),
  };
}

/** Starts one ceiling workflow (a unique id) and waits for its end. */
export async function runCeilingWorkflow(client: Client, taskQueuePrefix: string): Promise<void> {
  await client.workflow.execute('ceilingWorkflow', {
    workflowId: `ceiling-${randomUUID()}`,
    taskQueue: ceilingQueues(taskQueuePrefix).workflow,
    args: [],
  });
}
