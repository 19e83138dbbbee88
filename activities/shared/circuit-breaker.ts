import { msToNumber } from '@temporalio/common/lib/time';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
  type FailureReason,
} from 'cockatiel';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CircuitBreakerConfig, ServiceName } from '../../shared/config';
import {
  CIRCUIT_STATE_VALUES,
  circuitBreakerMetrics,
  type CircuitStateName,
} from '../../shared/telemetry/metrics';
import { transientFailure } from './failures';

/** The failure type of a call the open breaker refused (retryable: the step waits, nothing compensates). */
export const CIRCUIT_OPEN = 'CircuitOpen';

export interface CircuitBreakerOptions {
  /** The service whose worker makes the calls, and the dependency it calls (the metric's labels). */
  service: ServiceName;
  dependency: string;
  /** Whether a call's error is a technical failure of the dependency, one that counts towards opening. */
  isFailure: (error: Error) => boolean;
  config: CircuitBreakerConfig;
  metrics: Registry;
  log: Logger;
}

export interface CircuitBreaker {
  /**
   * Runs `call`, or, while the breaker is open, refuses it without running it: a retryable
   * ApplicationFailure `CircuitOpen`, so Temporal retries the activity with the same idempotency keys.
   * `request` names what the call asks for (its idempotency key): a request failing again counts once.
   */
  run<T>(call: () => Promise<T>, request?: string): Promise<T>;
  readonly state: CircuitStateName;
  /** Stops reporting (the worker is closing). */
  dispose(): void;
}

/** cockatiel's states by name; Isolated (held open by hand) is not used here and reads as open. */
export function circuitStateName(state: CircuitState): CircuitStateName {
  if (state === CircuitState.Closed) return 'closed';
  if (state === CircuitState.HalfOpen) return 'half_open';
  return 'open';
}

/** The first line of what the last failure was, for the log line and the refusal (never a stack). */
export function describeFailure(reason: FailureReason<unknown> | undefined): string {
  if (!reason) return 'unknown';
  const text = 'error' in reason ? `${reason.error.name}: ${reason.error.message}` : String(reason.value);
  return text.split('\n')[0] ?? text;
}

/**
 * The requests whose calls failed since the dependency last answered. Only a request's first failure
 * counts towards opening: its retries are paced by its own backoff already, and one request that keeps
 * failing (a card the provider cannot process) says nothing about the others, so it must not shut the
 * dependency off for every saga. Failures of different requests in a row do.
 */
export class FailingRequests {
  private readonly requests = new Set<string>();

  /** Whether this failure counts: a call of no named request always does; a named one, the first time. */
  counts(request: string | undefined): boolean {
    if (request === undefined) return true;
    if (this.requests.has(request)) return false;
    this.requests.add(request);
    return true;
  }

  /** The dependency answered: every request starts afresh. */
  clear(): void {
    this.requests.clear();
  }
}

/**
 * A circuit breaker in front of one dependency, in this worker process only (each replica counts its own
 * failures and sends its own trial calls): cockatiel's consecutive-failure breaker, counting failures of
 * different requests in a row (FailingRequests). Its state is the saga_circuit_breaker_state gauge and a
 * log line on each transition.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const { service, dependency, config, log } = options;
  const threshold = config.CIRCUIT_BREAKER_THRESHOLD;
  const halfOpenAfterMs = msToNumber(config.CIRCUIT_BREAKER_HALF_OPEN_AFTER);
  const failing = new FailingRequests();
  const requestOf = new WeakMap<Error, string>();
  // cockatiel counts the failures this lets through; another error passes through uncounted. A trial call
  // (half-open) that fails counts whatever its request: uncounted, cockatiel would close the breaker.
  const counts = (error: Error) =>
    options.isFailure(error) &&
    (policy.state !== CircuitState.Closed || failing.counts(requestOf.get(error)));
  const policy: CircuitBreakerPolicy = circuitBreaker(handleWhen(counts), {
    halfOpenAfter: halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(threshold),
  });
  const labels = { service, dependency };
  const metrics = circuitBreakerMetrics(options.metrics);
  // Both series exist from the start, so an alert or a rate() sees the breaker before its first refusal.
  metrics.state.set(labels, CIRCUIT_STATE_VALUES.closed);
  metrics.refused.inc(labels, 0);
  const fields = { service, dependency, threshold, halfOpenAfterMs };

  const listener = policy.onStateChange((state) => {
    const name = circuitStateName(state);
    metrics.state.set(labels, CIRCUIT_STATE_VALUES[name]);
    if (name === 'open') {
      log.warn(
        { ...fields, state: name, lastFailure: describeFailure(policy.lastFailure) },
        `circuit breaker open: calls to ${dependency} fail fast for ${halfOpenAfterMs} ms`,
      );
    } else if (name === 'half_open') {
      log.info({ ...fields, state: name }, `circuit breaker half-open: one trial call to ${dependency}`);
    } else {
      log.info({ ...fields, state: name }, `circuit breaker closed: ${dependency} answers again`);
    }
  });

  return {
    async run<T>(call: () => Promise<T>, request?: string): Promise<T> {
      try {
        const result = await policy.execute(async () => {
          try {
            return await call();
          } catch (error) {
            if (request !== undefined && error instanceof Error) requestOf.set(error, request);
            throw error;
          }
        });
        failing.clear();
        return result;
      } catch (error) {
        if (!(error instanceof BrokenCircuitError)) throw error;
        metrics.refused.inc(labels);
        throw transientFailure(
          CIRCUIT_OPEN,
          `${dependency} circuit breaker is open (last failure: ${describeFailure(policy.lastFailure)}); ` +
            'the call was not sent',
        );
      }
    },
    get state() {
      return circuitStateName(policy.state);
    },
    dispose: () => listener.dispose(),
  };
}
