import { setProviderOutage } from '../activities/payments/provider-store';
import { temporal } from '@temporalio/proto';
import { buildListQuery } from '../api/visibility-query';
import { percentiles, type Percentiles } from './throughput';
import { round, runConcurrently } from './stats';
import type { BenchStack } from './stack';
import { sagaStateQuery } from '../workflows/saga/messages';
import { getSaga, listSagas, startWorkflow } from './workloads';

export interface ReadComparison {
  /** Sagas read (each request takes the next one, round robin). */
  sagas: number;
  api: Percentiles;
  /** The bare Temporal call under the same readers: describe, or listWorkflowExecutions for the list. */
  direct: Percentiles;
  ratioP50: number;
  ratioP99: number;
}

export interface ReadPathResult {
  readers: number;
  finished: ReadComparison;
  running: ReadComparison;
  /** GET /sagas?pageSize=100 against listWorkflowExecutions with the same query and page size. */
  list: ReadComparison;
  /** What a GET of a running saga is made of, each alone under the same readers. */
  runningParts?: Record<'query' | 'closeEvent', ReadPart>;
  finishedParts?: Record<'closeEvent' | 'describeAndCloseEvent', ReadPart>;
}

/** One Temporal call of the read path under the readers: its latencies and the calls that failed. */
export interface ReadPart {
  latency: Percentiles;
  failures: number;
  /** The first failure's message, if any. */
  firstError?: string;
}

interface ReadOptions {
  readers: number;
  /** Requests of each kind per repetition: GET /sagas/{id} and describe; list pages. */
  requests: number;
  listRequests: number;
  reps: number;
  /** Sagas held running for the read (by a payment-provider outage). */
  running: number;
}

/**
 * The API's read path under `readers` concurrent readers against the bare Temporal call it builds on, the
 * two alternating: GET /sagas/{id} of finished sagas (`finishedIds`) and of running ones (held at
 * authorizePayment by the provider's outage switch, then terminated), and list pages of 100.
 */
export async function measureReadPath(
  stack: BenchStack,
  finishedIds: readonly string[],
  options: ReadOptions,
  log: (line: string) => void,
): Promise<ReadPathResult> {
  const { client } = stack;
  const compare = async (
    ids: readonly string[],
    api: (id: string) => Promise<void>,
    direct: (id: string) => Promise<void>,
    requests = options.requests,
  ): Promise<ReadComparison> => {
    const samples = { api: [] as number[], direct: [] as number[] };
    for (let rep = 0; rep < options.reps; rep++) {
      for (const kind of rep % 2 === 0 ? (['api', 'direct'] as const) : (['direct', 'api'] as const)) {
        const read = kind === 'api' ? api : direct;
        const durations = await runConcurrently(requests, options.readers, (i) =>
          read(ids[i % ids.length] as string),
        );
        samples[kind].push(...durations);
      }
    }
    const a = percentiles(samples.api);
    const d = percentiles(samples.direct);
    return {
      sagas: ids.length,
      api: a,
      direct: d,
      ratioP50: round(a.p50 / d.p50, 3),
      ratioP99: round(a.p99 / d.p99, 3),
    };
  };
  const describe = async (id: string) => {
    await client.workflow.getHandle(id).describe();
  };
  // A read that answers the wrong state is not a fast read: each answer is checked.
  const getExpecting = (final: boolean) => async (id: string) => {
    const saga = await getSaga(stack, id);
    if ((saga.status === 'COMPLETED') !== final)
      throw new Error(`GET /sagas/${id}: status ${saga.status}, expected ${final ? 'COMPLETED' : 'RUNNING'}`);
  };

  const part = async (ids: readonly string[], call: (id: string) => Promise<unknown>): Promise<ReadPart> => {
    let failures = 0;
    let firstError: string | undefined;
    const durations = await runConcurrently(options.requests, options.readers, async (i) => {
      await call(ids[i % ids.length] as string).catch((error: unknown) => {
        failures++;
        firstError ??= error instanceof Error ? error.message : String(error);
      });
    });
    return { latency: percentiles(durations), failures, ...(firstError ? { firstError } : {}) };
  };
  const closeEvent = (id: string) =>
    client.workflowService.getWorkflowExecutionHistory({
      namespace: stack.config.TEMPORAL_NAMESPACE,
      execution: { workflowId: id },
      historyEventFilterType:
        temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
      waitNewEvent: false,
      skipArchival: true,
    });

  // Untimed warm-up: the API process has served nothing yet (the throughput runs start workflows with the
  // client), and its first requests pay for JIT and lazily loaded code, as the workers' did in their warm-up.
  await runConcurrently(options.requests, options.readers, async (i) => {
    const id = finishedIds[i % finishedIds.length] as string;
    await Promise.all([getExpecting(true)(id), describe(id)]);
  });
  const finished = await compare(finishedIds, getExpecting(true), describe);
  log(`read finished: GET p99 ${finished.api.p99} ms, describe p99 ${finished.direct.p99} ms`);
  // The two Temporal calls of a finished GET, alone and together without the API around them.
  const finishedParts = {
    closeEvent: await part(finishedIds, closeEvent),
    describeAndCloseEvent: await part(finishedIds, (id) => Promise.all([describe(id), closeEvent(id)])),
  };
  log(
    `read finished, parts: close event p99 ${finishedParts.closeEvent.latency.p99} ms, ` +
      `describe + close event p99 ${finishedParts.describeAndCloseEvent.latency.p99} ms`,
  );

  const query = buildListQuery(['orderSaga', 'refundSaga'], { pageSize: 100 });
  const list = await compare(
    ['first page'],
    async () => {
      const page = await listSagas(stack, 100);
      if (page.sagas.length !== 100) throw new Error(`GET /sagas gave ${page.sagas.length} sagas, not 100`);
    },
    async () => {
      await client.workflowService.listWorkflowExecutions({
        namespace: stack.config.TEMPORAL_NAMESPACE,
        query,
        pageSize: 100,
      });
    },
    options.listRequests,
  );
  log(`list of 100: GET p99 ${list.api.p99} ms, listWorkflowExecutions p99 ${list.direct.p99} ms`);

  // Running sagas: the provider is down, so each waits at authorizePayment, retrying, until terminated.
  const held: string[] = [];
  try {
    await setProviderOutage(stack.providerDatabaseUrl, new Date(Date.now() + 15 * 60_000), 'bench hold');
    await runConcurrently(options.running, 20, async () => {
      held.push((await startWorkflow(client, stack, 'orderSaga')).workflowId);
    });
    await waitUntilAtPayment(stack, held);
    const running = await compare(held, getExpecting(false), describe);
    log(`read running: GET p99 ${running.api.p99} ms, describe p99 ${running.direct.p99} ms`);
    const runningParts = {
      query: await part(held, (id) => client.workflow.getHandle(id).query(sagaStateQuery)),
      closeEvent: await part(held, closeEvent),
    };
    log(
      `read running, parts: query p99 ${runningParts.query.latency.p99} ms (${runningParts.query.failures} failed), ` +
        `close event p99 ${runningParts.closeEvent.latency.p99} ms`,
    );
    return { readers: options.readers, finished, running, list, finishedParts, runningParts };
  } finally {
    await setProviderOutage(stack.providerDatabaseUrl, null).catch(() => undefined);
    await runConcurrently(held.length, 20, async (i) => {
      await client.workflow
        .getHandle(held[i] as string)
        .terminate('bench: read path measured')
        .catch(() => undefined);
    });
  }
}

/**
 * Until every held saga has reached its payment step (so each read sees the same running state), from
 * describe's pending activities: polling with GET would queue behind the very queries being measured.
 */
async function waitUntilAtPayment(stack: BenchStack, ids: readonly string[]): Promise<void> {
  const deadline = Date.now() + 600_000;
  for (const id of ids) {
    for (;;) {
      const { raw } = await stack.client.workflow.getHandle(id).describe();
      if (raw.pendingActivities?.some((a) => a.activityType?.name === 'authorizePayment')) break;
      if (Date.now() > deadline) throw new Error(`saga ${id} did not reach authorizePayment in 600 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
