/** The benches' command-line values, checked one way: a clear error naming the option, before any work. */
import { BENCH_MODES, type BenchMode } from './modes';

export function benchModeOption(text: string | undefined, option = '--mode'): BenchMode {
  const mode = text as BenchMode;
  if (!BENCH_MODES.includes(mode))
    throw new Error(`${option}: ${text} is not one of ${BENCH_MODES.join(', ')}`);
  return mode;
}

export function wholeNumberOption(option: string, text: string | undefined, least = 1): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < least) throw new Error(`${option}: a whole number ≥ ${least}`);
  return value;
}
