import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A one-table report: its title and explanation, then a table. */
export interface MarkdownReport {
  intro: string[];
  header: string[];
  /** Rows already in markdown (`| a | b |`). */
  rows: string[];
}

/** Writes a bench's one-table report to `<out>.md` (its folder made if missing) and prints it. */
export function writeMarkdownReport(out: string, { intro, header, rows }: MarkdownReport): void {
  const report = [
    ...intro,
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows,
    '',
  ].join('\n');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(`${out}.md`, report);
  process.stdout.write(report);
}
