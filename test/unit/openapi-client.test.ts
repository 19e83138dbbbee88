import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

describe('the generated API client types', () => {
  test('api/client/openapi.d.ts is what `npm run generate:client` writes from the current document', () => {
    // Generated in memory from api/openapi.ts: a change there without regenerating fails here.
    const fresh = execFileSync(
      path.join(root, 'node_modules', '.bin', 'tsx'),
      ['scripts/openapi/generate-client.ts', '--stdout'],
      { cwd: root, encoding: 'utf8' },
    );
    const committed = readFileSync(path.join(root, 'api/client/openapi.d.ts'), 'utf8');
    expect(fresh).toContain("post: operations['startSaga'];");
    if (committed !== fresh) {
      throw new Error('api/client/openapi.d.ts is stale: run `npm run generate:client` and commit it');
    }
  });
});
