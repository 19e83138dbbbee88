import { Writable } from 'node:stream';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { CircuitState } from 'cockatiel';
import { Registry } from 'prom-client';
import { ProviderError } from '../../activities/payments/provider-store';
import { isProviderFailure } from '../../activities/payments/provider-breaker';
import {
  CIRCUIT_OPEN,
  FailingRequests,
  circuitStateName,
  createCircuitBreaker,
  describeFailure,
} from '../../activities/shared/circuit-breaker';
import { circuitBreakerConfigSchema, loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';

describe('which provider errors count towards opening the breaker', () => {
  test.each([
    ['a 503 (outage, processing error)', new ProviderError('ProviderUnavailable', 503, 'down'), true],
    ['a 504 (no answer in time)', new ProviderError('ProviderTimeout', 504, 'late'), true],
    ['a 422 (key re-used)', new ProviderError('IdempotencyKeyReused', 422, 'reused'), false],
    ['a 404 (no such charge)', new ProviderError('ChargeNotFound', 404, 'none'), false],
    ['an unreachable provider', new Error('connect ECONNREFUSED 127.0.0.1:5432'), true],
    ['a cancelled activity', new CancelledFailure('CANCELLED'), false],
  ])('%s', (_what, error, counts) => {
    expect(isProviderFailure(error)).toBe(counts);
  });
});

describe('circuit breaker settings', () => {
  test('the shipped defaults: 5 requests failing in a row, half-open after 10 s', () => {
    expect(loadConfig(circuitBreakerConfigSchema, {})).toEqual({
      CIRCUIT_BREAKER_THRESHOLD: 5,
      CIRCUIT_BREAKER_HALF_OPEN_AFTER: '10s',
    });
  });

  test.each([
    [{ CIRCUIT_BREAKER_THRESHOLD: '0' }, /CIRCUIT_BREAKER_THRESHOLD/],
    [{ CIRCUIT_BREAKER_THRESHOLD: 'many' }, /CIRCUIT_BREAKER_THRESHOLD/],
    [
      { CIRCUIT_BREAKER_HALF_OPEN_AFTER: 'soon' },
      /CIRCUIT_BREAKER_HALF_OPEN_AFTER must be a positive duration/,
    ],
  ])('a bad value is refused naming the variable: %o', (env, message) => {
    expect(() => loadConfig(circuitBreakerConfigSchema, env)).toThrow(message);
  });
});

describe('circuit breaker state names and failure descriptions', () => {
  test('every cockatiel state has a name; held open by hand reads as open', () => {
    expect(circuitStateName(CircuitState.Closed)).toBe('closed');
    expect(circuitStateName(CircuitState.Open)).toBe('open');
    expect(circuitStateName(CircuitState.HalfOpen)).toBe('half_open');
    expect(circuitStateName(CircuitState.Isolated)).toBe('open');
  });

  test('a failure is described by its first line, never its stack', () => {
    const error = new ProviderError('ProviderUnavailable', 503, 'provider outage until 12:00\nmore');
    expect(describeFailure({ error })).toBe('ProviderError: provider outage until 12:00');
    expect(describeFailure(undefined)).toBe('unknown');
  });
});

describe("failing requests: only a request's first failure counts", () => {
  test('a request counts once until the dependency answers; a call of no named request always counts', () => {
    const failing = new FailingRequests();
    expect(failing.counts('pay_1')).toBe(true);
    expect(failing.counts('pay_1')).toBe(false);
    expect(failing.counts('pay_2')).toBe(true);
    expect(failing.counts(undefined)).toBe(true);
    expect(failing.counts(undefined)).toBe(true);
    failing.clear();
    expect(failing.counts('pay_1')).toBe(true);
  });
});

describe('a circuit breaker in front of a dependency', () => {
  const HALF_OPEN_MS = 200;

  function setUp() {
    const lines: { level: number; msg: string; state?: string; lastFailure?: string }[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const metrics = new Registry();
    const breaker = createCircuitBreaker({
      service: 'payments',
      dependency: 'payment-provider',
      isFailure: isProviderFailure,
      config: { CIRCUIT_BREAKER_THRESHOLD: 3, CIRCUIT_BREAKER_HALF_OPEN_AFTER: `${HALF_OPEN_MS}ms` },
      metrics,
      log: createLogger('worker-payments', 'info', destination),
    });
    const gauge = async () => {
      const text = await metrics.metrics();
      const line = /^saga_circuit_breaker_state\{service="payments",dependency="payment-provider"\} (\d)$/m;
      return Number(line.exec(text)?.[1]);
    };
    const refused = async () =>
      Number(/^saga_circuit_breaker_refused_total\{[^}]*\} (\d+)$/m.exec(await metrics.metrics())?.[1] ?? 0);
    let calls = 0;
    const outage = () => {
      calls += 1;
      return Promise.reject(new ProviderError('ProviderUnavailable', 503, 'provider outage'));
    };
    const ok = () => {
      calls += 1;
      return Promise.resolve('charged');
    };
    return { breaker, lines, gauge, refused, outage, ok, calls: () => calls };
  }

  test('opens after the threshold, refuses without calling, half-opens on its timer, closes on a success', async () => {
    const { breaker, lines, gauge, refused, outage, ok, calls } = setUp();
    expect(await gauge()).toBe(0);
    for (let i = 0; i < 3; i++) await expect(breaker.run(outage)).rejects.toBeInstanceOf(ProviderError);
    expect(breaker.state).toBe('open');
    expect(await gauge()).toBe(1);

    // Open: refused with a retryable failure, and the dependency is not called.
    const refusal = await breaker.run(ok).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ApplicationFailure);
    expect(refusal).toMatchObject({ type: CIRCUIT_OPEN, nonRetryable: false });
    expect((refusal as Error).message).toMatch(/payment-provider circuit breaker is open.*provider outage/);
    expect(calls()).toBe(3);
    expect(await refused()).toBe(1);

    // After the half-open delay, one trial call goes through; a failure opens it again at once.
    await new Promise((resolve) => setTimeout(resolve, HALF_OPEN_MS + 50));
    await expect(breaker.run(outage)).rejects.toBeInstanceOf(ProviderError);
    expect(calls()).toBe(4);
    expect(breaker.state).toBe('open');
    await expect(breaker.run(ok)).rejects.toMatchObject({ type: CIRCUIT_OPEN });
    expect(calls()).toBe(4);

    // The next trial succeeds: closed, and every call goes through again.
    await new Promise((resolve) => setTimeout(resolve, HALF_OPEN_MS + 50));
    await expect(breaker.run(ok)).resolves.toBe('charged');
    expect(breaker.state).toBe('closed');
    expect(await gauge()).toBe(0);
    await expect(breaker.run(ok)).resolves.toBe('charged');
    expect(calls()).toBe(6);

    expect(lines.map((line) => line.state)).toEqual(['open', 'half_open', 'open', 'half_open', 'closed']);
    expect(lines[0]).toMatchObject({
      level: 40, // warn
      msg: `circuit breaker open: calls to payment-provider fail fast for ${HALF_OPEN_MS} ms`,
      lastFailure: 'ProviderError: provider outage',
    });
    expect(lines.at(-1)).toMatchObject({
      level: 30,
      msg: 'circuit breaker closed: payment-provider answers again',
    });
    breaker.dispose();
  });

  test('only consecutive technical failures open it: a success resets the count, 4xx answers do not count', async () => {
    const { breaker, outage, ok } = setUp();
    const reused = () => Promise.reject(new ProviderError('IdempotencyKeyReused', 422, 'reused'));
    for (let round = 0; round < 3; round++) {
      await expect(breaker.run(outage)).rejects.toBeInstanceOf(ProviderError);
      await expect(breaker.run(outage)).rejects.toBeInstanceOf(ProviderError);
      await expect(breaker.run(ok)).resolves.toBe('charged');
    }
    for (let i = 0; i < 10; i++) await expect(breaker.run(reused)).rejects.toMatchObject({ status: 422 });
    expect(breaker.state).toBe('closed');
    breaker.dispose();
  });

  test('one request failing again and again never opens it; different requests failing in a row do', async () => {
    const { breaker, outage, ok, calls } = setUp();
    for (let i = 0; i < 10; i++) {
      await expect(breaker.run(outage, 'pay_poison')).rejects.toBeInstanceOf(ProviderError);
    }
    expect(breaker.state).toBe('closed');
    await expect(breaker.run(outage, 'pay_a')).rejects.toBeInstanceOf(ProviderError);
    await expect(breaker.run(outage, 'pay_b')).rejects.toBeInstanceOf(ProviderError);
    expect(breaker.state).toBe('open'); // the poison's first failure, then a and b: three requests
    expect(calls()).toBe(12);

    // A trial that fails opens it again, even for a request that failed before.
    await new Promise((resolve) => setTimeout(resolve, HALF_OPEN_MS + 50));
    await expect(breaker.run(outage, 'pay_a')).rejects.toBeInstanceOf(ProviderError);
    expect(breaker.state).toBe('open');
    await new Promise((resolve) => setTimeout(resolve, HALF_OPEN_MS + 50));
    await expect(breaker.run(ok, 'pay_c')).resolves.toBe('charged');
    expect(breaker.state).toBe('closed');
    // The answer cleared the failing requests: the poison counts again, once.
    await expect(breaker.run(outage, 'pay_poison')).rejects.toBeInstanceOf(ProviderError);
    await expect(breaker.run(outage, 'pay_poison')).rejects.toBeInstanceOf(ProviderError);
    await expect(breaker.run(outage, 'pay_a')).rejects.toBeInstanceOf(ProviderError);
    expect(breaker.state).toBe('closed');
    await expect(breaker.run(outage, 'pay_b')).rejects.toBeInstanceOf(ProviderError);
    expect(breaker.state).toBe('open');
    breaker.dispose();
  });

  test('two breakers of one registry share the metrics, each with its own labels', async () => {
    const metrics = new Registry();
    const log = createLogger('worker', 'silent');
    const config = loadConfig(circuitBreakerConfigSchema, {});
    const isFailure = () => true;
    const a = createCircuitBreaker({ service: 'payments', dependency: 'a', isFailure, config, metrics, log });
    const b = createCircuitBreaker({ service: 'payments', dependency: 'b', isFailure, config, metrics, log });
    const text = await metrics.metrics();
    expect(text).toMatch(/saga_circuit_breaker_state\{service="payments",dependency="a"\} 0/);
    expect(text).toMatch(/saga_circuit_breaker_state\{service="payments",dependency="b"\} 0/);
    a.dispose();
    b.dispose();
  });
});
