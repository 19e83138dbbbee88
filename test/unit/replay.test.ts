import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { loadConfig } from '../../shared/config';
import { codecConfigSchema, encryptingDataConverter } from '../../shared/encryption/config';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../worker/telemetry';
import { HISTORY_VERSIONS, endingsOf } from '../support/history-versions';
import { fixtureFiles, readManifest, sha256Of } from '../support/fixture-manifest';

/**
 * Replays recorded histories of every saga ending against the current workflow code, one folder per
 * version of the engine: sagas started by an older engine must keep replaying after a change (a change to
 * workflow code goes behind `patched()`, and its new histories go into a new folder). A change that makes
 * the workflow non-deterministic fails here. Record the current version with `npm run test:record-histories`.
 */
const FIXTURES = path.resolve(__dirname, '../fixtures/histories');
/** A test-only key: `npm run test:record-histories` records with it, so the fixtures stay readable. */
const FIXTURE_KEYS = readFileSync(path.join(FIXTURES, 'codec-keys'), 'utf8').trim();
test('released fixtures are kept as recorded: none re-recorded, edited or removed (SHA256SUMS)', () => {
  const manifest = readManifest();
  expect(fixtureFiles()).toEqual([...manifest.keys()].sort());
  for (const [file, hash] of manifest) expect([file, sha256Of(file)]).toEqual([file, hash]);
  for (const version of HISTORY_VERSIONS) {
    expect([...manifest.keys()].filter((f) => f.startsWith(`${version}/`)).length).toBeGreaterThan(0);
  }
});

describe.each(HISTORY_VERSIONS)('workflow determinism: histories of %s', (version) => {
  const dir = path.join(FIXTURES, version);

  test('a fixture exists for every ending', () => {
    const names = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''));
    expect(names.sort()).toEqual(endingsOf(version));
  });

  test('every recorded history replays without a determinism error', async () => {
    const histories = endingsOf(version).map((name) => ({
      workflowId: name,
      history: historyFromJSON(JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8'))),
    }));
    const results: { workflowId: string; error?: unknown }[] = [];
    for await (const result of Worker.runReplayHistories(
      {
        workflowsPath: require.resolve('../../workflows'),
        // As the orchestrator runs them: with the tracing interceptors and the encrypting data converter.
        interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES },
        dataConverter: encryptingDataConverter(
          loadConfig(codecConfigSchema, { SAGA_CODEC_KEYS: FIXTURE_KEYS }),
        ),
      },
      histories,
    )) {
      results.push({ workflowId: result.workflowId, error: result.error });
    }
    expect(results.map((r) => [r.workflowId, r.error ? String(r.error) : undefined])).toEqual(
      endingsOf(version).map((name) => [name, undefined]),
    );
  }, 120_000);
});
