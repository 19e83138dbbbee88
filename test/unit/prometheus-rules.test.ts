import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { ensurePrometheus } from '../../scripts/prometheus/ensure-prometheus';

/**
 * The alert and recording rules through Prometheus's own promtool (Debian's package, unpacked into the
 * project cache on first use): they parse and type-check, and every alert fires, or stays silent, on the
 * series of ops/prometheus/rules.test.yml.
 */
const DIR = path.resolve(__dirname, '../../ops/prometheus');

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string }[] }[];
}
interface RuleTests {
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

function promtool(...args: string[]) {
  const { promtool: bin } = ensurePrometheus();
  const result = spawnSync(bin, args, { cwd: DIR, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

describe('Prometheus rules (ops/prometheus/rules.yml)', () => {
  test('promtool check rules accepts them', () => {
    const { status, output } = promtool('check', 'rules', 'rules.yml');
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
    expect(status).toBe(0);
  });

  test("promtool check config accepts compose's prometheus.yml (and the rules it loads)", () => {
    const { status, output } = promtool('check', 'config', 'prometheus.yml');
    expect(output).toContain('SUCCESS: prometheus.yml is valid prometheus config file syntax');
    expect(status).toBe(0);
  });

  test('promtool test rules: every expected alert fires, and nothing else', () => {
    const { status, output } = promtool('test', 'rules', 'rules.test.yml');
    expect(output.replace(/\n+/g, '\n')).toContain('SUCCESS');
    expect(status).toBe(0);
  });

  test('every alert has a test in which it fires', () => {
    const rules = parse(readFileSync(path.join(DIR, 'rules.yml'), 'utf8')) as RuleFile;
    const tests = parse(readFileSync(path.join(DIR, 'rules.test.yml'), 'utf8')) as RuleTests;
    const alerts = rules.groups.flatMap((group) => group.rules.flatMap((rule) => rule.alert ?? []));
    const firing = new Set(
      tests.tests.flatMap((t) =>
        (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname),
      ),
    );
    expect(alerts.length).toBeGreaterThanOrEqual(7);
    expect(alerts.filter((alert) => !firing.has(alert))).toEqual([]);
  });

  test('promtool rejects a broken rule (the check is not a formality)', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'rules-')), 'broken.yml');
    writeFileSync(
      file,
      'groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum by (saga (saga_parked)\n',
    );
    const broken = spawnSync(ensurePrometheus().promtool, ['check', 'rules', file], { encoding: 'utf8' });
    expect(broken.status).not.toBe(0);
    expect(`${broken.stdout}${broken.stderr}`).toMatch(/parse error|unexpected/i);
  });
});
