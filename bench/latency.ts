import type { BenchStack } from './stack';
import { quantile, round, runConcurrently } from './stats';
import { benchOrder, postSaga, startWorkflow, type ApiTarget } from './workloads';

/**
 * The API's own latencies (the bench's first mode only): API-accepted → final of the happy path, the
 * compensation path and parallel compensation; and API start latency against a bare client.workflow.start.
 */
export async function endToEnd(stack: BenchStack, total: number, reps: number, log: (line: string) => void) {
  const paths = { happy: [] as number[], compensation: [] as number[], parallel: [] as number[] };
  // The same API, but starting sagas that compensate in parallel (SAGA_COMPENSATION_MODE=parallel).
  const parallelApi = await stack.startApi({ SAGA_COMPENSATION_MODE: 'parallel' });
  // Each API process warm, as the workers are.
  await untilSagasComplete(stack, log);
  await untilSagasComplete({ api: parallelApi }, log);
  const kinds = ['happy', 'compensation', 'parallel'] as const;
  for (let rep = 0; rep < reps; rep++) {
    for (const kind of rep % 2 === 0 ? kinds : [...kinds].reverse()) {
      // Compensation path: the last step fails (an account on hold), so all three compensations run.
      const order = kind === 'happy' ? benchOrder() : benchOrder('hold-bench');
      const target = kind === 'parallel' ? { api: parallelApi } : stack;
      const durations = await runConcurrently(Math.ceil(total / reps), 10, async () => {
        const res = await postSaga(target, order, 30);
        const expected = kind === 'happy' ? 'COMPLETED' : 'COMPENSATED';
        if (res.status !== expected) throw new Error(`saga ended ${res.status}, expected ${expected}`);
      });
      paths[kind].push(...durations);
    }
  }
  await parallelApi.process.stop();
  const pct = (v: number[]) => ({
    p50: round(quantile(v, 0.5)),
    p95: round(quantile(v, 0.95)),
    p99: round(quantile(v, 0.99)),
    samples: v.length,
  });
  const happy = pct(paths.happy);
  const compensation = pct(paths.compensation);
  const parallel = pct(paths.parallel);
  log(`e2e p50: happy ${happy.p50} ms, compensation ${compensation.p50} ms, parallel ${parallel.p50} ms`);
  return {
    happy,
    compensation,
    parallelCompensation: parallel,
    ratioP50: round(compensation.p50 / happy.p50, 3),
    ratioP95: round(compensation.p95 / happy.p95, 3),
    parallelRatioP50: round(parallel.p50 / happy.p50, 3),
    parallelRatioP95: round(parallel.p95 / happy.p95, 3),
  };
}

/**
 * Untimed happy sagas through an API until a round of them all completes, which also warms its process.
 * The read path before this held sagas with a payment-provider outage, which opened the payments worker's circuit breaker (half-open
 * after CIRCUIT_BREAKER_HALF_OPEN_AFTER, 10 s): the first sagas after it wait for that, which is the read
 * path's after-effect, not the API's latency.
 */
async function untilSagasComplete(api: ApiTarget, log: (line: string) => void): Promise<void> {
  for (let round = 1; round <= 6; round++) {
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () => postSaga(api, benchOrder(), 30).then((res) => res.status)),
    );
    if (statuses.every((status) => status === 'COMPLETED')) return;
    log(
      `e2e warm-up round ${round}: ${statuses.filter((s) => s !== 'COMPLETED').length} of 10 not completed yet`,
    );
  }
  throw new Error('e2e warm-up: happy sagas still do not complete after 6 rounds');
}

export async function apiStartLatency(
  stack: BenchStack,
  counts: Record<number, number>,
  reps: number,
  log: (line: string) => void,
) {
  const rows = [];
  for (const clients of [1, 10, 50]) {
    const api: number[] = [];
    const direct: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      for (const kind of rep % 2 === 0 ? (['api', 'direct'] as const) : (['direct', 'api'] as const)) {
        const durations = await runConcurrently(counts[clients] as number, clients, async () => {
          if (kind === 'api') await postSaga(stack, benchOrder());
          else await startWorkflow(stack.client, stack, 'orderSaga');
        });
        (kind === 'api' ? api : direct).push(...durations);
      }
    }
    const row = {
      clients,
      api: { p50: round(quantile(api, 0.5), 2), p99: round(quantile(api, 0.99), 2) },
      direct: { p50: round(quantile(direct, 0.5), 2), p99: round(quantile(direct, 0.99), 2) },
    };
    log(`start latency ${clients} clients: API p99 ${row.api.p99} ms, direct p99 ${row.direct.p99} ms`);
    rows.push({ ...row, ratioP99: round(row.api.p99 / row.direct.p99, 3) });
    await drain(stack);
  }
  return rows;
}

/** Waits until the sagas started without waiting have finished, so they do not load the next measurement. */
export async function drain(stack: BenchStack): Promise<void> {
  for (;;) {
    const { count } = await stack.client.workflow.count(`ExecutionStatus = 'Running'`);
    if (count === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
