import { prettyFactory } from 'pino-pretty';

/**
 * How `npm start` shows its processes' log lines: JSON as they write it when the output is not a terminal
 * (a file, a pipe, a log collector), readable and coloured on a terminal. Lines that are not JSON
 * (a stack trace, a tool's own output) pass through as they are.
 */
export function childLineFormatter(terminal: boolean): (line: string, name: string) => string {
  if (!terminal) return (line) => line;
  const pretty = prettyFactory({
    colorize: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    // The process is named by the prefix already; these repeat on every line.
    ignore: 'pid,hostname,service',
  });
  return (line, name) => {
    const prefix = `[${name}] `;
    const body = line.startsWith(prefix) ? line.slice(prefix.length) : line;
    if (!body.startsWith('{')) return line;
    try {
      JSON.parse(body);
    } catch {
      return line;
    }
    return `${prefix}${pretty(body).trimEnd()}`;
  };
}
