import type { RetryPolicy } from '@temporalio/common';
import { jitteredRetryDelayMs } from '../../worker/retry-jitter';

describe('jittered retry delay', () => {
  const policy: RetryPolicy = { initialInterval: '200ms', maximumInterval: '10s', backoffCoefficient: 2 };

  test('capped exponential interval, between half and all of it', () => {
    expect([1, 2, 3, 7, 20].map((a) => jitteredRetryDelayMs(policy, a, () => 0))).toEqual([
      100, 200, 400, 5000, 5000,
    ]);
    expect([1, 2, 3, 7, 20].map((a) => jitteredRetryDelayMs(policy, a, () => 1))).toEqual([
      200, 400, 800, 10000, 10000,
    ]);
  });

  test('calls failing together come back spread out', () => {
    let seed = 1;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const delays = Array.from({ length: 100 }, () => jitteredRetryDelayMs(policy, 10, random));
    expect(new Set(delays).size).toBeGreaterThan(90);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(5000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(10000);
  });
});
