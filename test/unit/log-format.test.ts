import { childLineFormatter } from '../../scripts/lib/log-format';

const json = JSON.stringify({
  level: 40,
  time: Date.UTC(2026, 11, 3, 12, 0, 0),
  pid: 7,
  hostname: 'h',
  service: 'payments',
  msg: 'provider unavailable; Temporal retries',
  sagaId: 'order-1',
});
// eslint-disable-next-line no-control-regex
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');

describe("npm start's log lines", () => {
  test('on a terminal: one readable, coloured line with level, message and fields, under its prefix', () => {
    const line = childLineFormatter(true)(`[payments] ${json}`, 'payments');
    expect(line).toContain('\u001b['); // coloured
    expect(line.split('\n')).toHaveLength(1);
    const text = plain(line);
    expect(text).toMatch(
      /^\[payments\] \[\d{2}:\d{2}:\d{2}\.\d{3}\] WARN: provider unavailable; Temporal retries/,
    );
    expect(text).toContain('"sagaId":"order-1"');
    expect(text).not.toMatch(/"pid"|"hostname"|"service"/);
  });

  test('not on a terminal: the JSON line untouched; lines that are not JSON always pass through', () => {
    expect(childLineFormatter(false)(`[payments] ${json}`, 'payments')).toBe(`[payments] ${json}`);
    for (const other of ['[api] Error: boom', '[api]     at x (y.ts:1:2)', '[api] {not json']) {
      expect(childLineFormatter(true)(other, 'api')).toBe(other);
    }
  });
});
