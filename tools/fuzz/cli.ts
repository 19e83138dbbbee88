/**
 * `npm run fuzz -- --requests N [--seed S]`: sends N generated hostile requests to the real API app on a
 * local port (on a Temporal dev server it starts) and fails unless every answer is a 4xx problem and no workflow started.
 */
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { createApp } from '../../api/app';
import { SagaService } from '../../api/saga-service';
import { freePort } from '../../scripts/lib/ports';
import { startDevServer } from '../../scripts/temporal/dev-server';
import { loadConfig, sagaConfigSchema } from '../../shared/config';
import { sagaSettingsFromConfig } from '../../shared/saga-settings';
import { taskQueues } from '../../shared/task-queues';
import { runFuzz } from './run';

const KEY = 'fuzz-key-0123456789abcdef';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { requests: { type: 'string', default: '1000' }, seed: { type: 'string', default: '1' } },
  });
  const server = await startDevServer({ port: await freePort(), uiPort: await freePort() });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  try {
    const queues = taskQueues('fuzz-');
    const sagas = new SagaService({
      client,
      namespace: 'default',
      orchestratorTaskQueue: queues.orchestrator,
      settings: sagaSettingsFromConfig(loadConfig(sagaConfigSchema, {}), 'fuzz-'),
      webUiUrl: server.uiUrl,
      apiBase: '',
    });
    const app = createApp({
      client,
      namespace: 'default',
      sagas,
      apiKeys: [KEY],
      readOpen: false,
      rateLimitPerMinute: 1_000_000,
      maxBodyBytes: 32_768,
      logger: pino({ level: 'silent' }),
    });
    const listening = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => listening.once('listening', resolve));
    const { port } = listening.address() as AddressInfo;
    const report = await runFuzz({
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: KEY,
      count: Number(values.requests),
      seed: Number(values.seed),
    }).finally(() => new Promise((resolve) => listening.close(resolve)));
    await new Promise((resolve) => setTimeout(resolve, 1500)); // visibility is eventually consistent
    const { count: started } = await client.workflow.count('');
    console.log(
      `${report.requests} requests; statuses ${JSON.stringify(report.byStatus)}; workflows started: ${started}; RSS growth ${report.rssGrowthMiB} MiB`,
    );
    for (const f of report.failures.slice(0, 20)) console.log(`FAIL ${f.reason}: ${f.request}`);
    return report.failures.length === 0 && started === 0 ? 0 : 1;
  } finally {
    await connection.close();
    await server.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`fuzz failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
