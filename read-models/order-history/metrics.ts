import { Counter, Gauge, type Registry } from 'prom-client';
import type { ApplyOutcome } from './apply';

const readModel = 'order-history';

/** What the order-history consumer counts, labelled with its read model (one registry per process). */
export function orderHistoryMetrics(registry: Registry, pending?: () => Promise<number | undefined>) {
  const applied = new Counter<'read_model' | 'outcome'>({
    name: 'saga_read_model_applied_total',
    help: 'Events the read model applied (applied), found applied before (duplicate), or kept out because another event holds their aggregate sequence (conflict)',
    labelNames: ['read_model', 'outcome'],
    registers: [registry],
  });
  const retried = new Counter<'read_model'>({
    name: 'saga_read_model_retries_total',
    help: 'Events the read model could not apply (its database failed) and left for redelivery',
    labelNames: ['read_model'],
    registers: [registry],
  });
  const rejected = new Counter<'read_model'>({
    name: 'saga_read_model_rejected_total',
    help: 'Messages that were not domain events, terminated (never delivered again)',
    labelNames: ['read_model'],
    registers: [registry],
  });
  const lastApplied = new Gauge<'read_model'>({
    name: 'saga_read_model_last_applied_sequence',
    help: 'The last stream sequence the read model applied',
    labelNames: ['read_model'],
    registers: [registry],
  });
  new Gauge<'read_model'>({
    name: 'saga_read_model_lag_events',
    help: "Events in the stream the read model's durable consumer has not been delivered yet (its num_pending)",
    labelNames: ['read_model'],
    registers: [registry],
    async collect() {
      const value = await pending?.().catch(() => undefined);
      if (value !== undefined) this.set({ read_model: readModel }, value);
    },
  });
  return {
    applied: {
      inc: (labels: { outcome: ApplyOutcome }) => applied.inc({ read_model: readModel, ...labels }),
    },
    retried: { inc: () => retried.inc({ read_model: readModel }) },
    rejected: { inc: () => rejected.inc({ read_model: readModel }) },
    lastApplied: { set: (value: number) => lastApplied.set({ read_model: readModel }, value) },
  };
}

export type OrderHistoryMetrics = ReturnType<typeof orderHistoryMetrics>;
