/**
 * The one line that says why an apt-get or dpkg-deb run failed: the spawn error, else the tool's last error
 * line (`E: ...`, sudo's refusal, a missing command), else its last line.
 */
export function aptFailureReason(output: string, error?: Error): string {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return (
    error?.message ??
    [...lines].reverse().find((line) => line.startsWith('E:') || /sudo:|ENOENT/.test(line)) ??
    lines.at(-1) ??
    'no output'
  );
}
