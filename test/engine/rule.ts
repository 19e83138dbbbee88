import type { SagaDefinition, StepKind } from '../../workflows/saga';
import type { SagaStatus } from '../../shared/saga-state';
import type { LedgerEntry } from './ledger';
import type { EngineSagaData, EngineSagaInput } from './sagas';

/** A step as the rule sees it: where it is in the definition, its kind, its service. */
export interface RuleStep {
  name: string;
  /** Index of its element (a step or a parallel group) in the definition. */
  element: number;
  kind: StepKind;
  compensated: boolean;
  service: string;
}

export function ruleSteps(definition: SagaDefinition<EngineSagaInput, EngineSagaData>): RuleStep[] {
  const ctx = { sagaId: 'rule', input: {}, data: { refs: [] } };
  return definition.steps.flatMap((element, index) =>
    ('parallel' in element ? element.parallel : [element]).map((step) => ({
      name: step.name,
      element: index,
      kind: step.kind ?? 'compensatable',
      compensated: step.compensation !== undefined,
      // Building a call is a pure function of the context: it names the service the step runs on.
      service: step.action(ctx).service,
    })),
  );
}

/**
 * Garcia-Molina & Salem's rule for a finished saga, read from the services' own ledgers: the effects
 * that took place are T1..Tn (COMPLETED), or T1..Tj followed by Cj..C1 (COMPENSATED), where T and C are
 * in definition order (reverse for C) except inside a parallel group, where any order goes. T1..Tj is a
 * prefix of the definition: every step of the elements before the last one with an effect (a group may
 * have taken effect in part). Each Ci undoes a Ti that took effect (steps without a compensation have
 * none), and nothing from the pivot on is ever compensated. Every effect happened on the step's own
 * service. Returns what is violated (empty when the rule holds).
 */
export function violations(steps: RuleStep[], entries: LedgerEntry[], status: SagaStatus): string[] {
  const problems: string[] = [];
  const byName = new Map(steps.map((s) => [s.name, s]));
  const effects = entries.filter(
    (e) =>
      (e.operation === 'act' && e.effect === 'applied') || (e.operation === 'undo' && e.effect === 'undone'),
  );
  const show = (list: LedgerEntry[]) =>
    list.map((e) => `${e.operation === 'act' ? 'T' : 'C'}(${e.step})`).join(' ') || '(nothing)';
  const said = `ledger: ${show(effects)}; status ${status}`;

  for (const e of entries) {
    const step = byName.get(e.step);
    if (!step) problems.push(`${e.step} is not a step of the saga`);
    else if (e.service !== step.service) problems.push(`${e.step} ran on ${e.service}, not ${step.service}`);
  }
  const firstC = effects.findIndex((e) => e.operation === 'undo');
  const forward = firstC === -1 ? effects : effects.slice(0, firstC);
  const backward = firstC === -1 ? [] : effects.slice(firstC);
  if (backward.some((e) => e.operation === 'act')) problems.push(`a step took effect after a compensation`);

  const applied = forward.map((e) => byName.get(e.step)).filter((s): s is RuleStep => s !== undefined);
  const undone = backward.map((e) => byName.get(e.step)).filter((s): s is RuleStep => s !== undefined);
  for (const [what, list] of [
    ['took effect', applied],
    ['was undone', undone],
  ] as const) {
    const names = list.map((s) => s.name);
    const twice = names.filter((n, i) => names.indexOf(n) !== i);
    if (twice.length > 0) problems.push(`${twice.join(', ')} ${what} twice`);
  }
  applied.forEach((s, i) => {
    if (i > 0 && s.element < (applied[i - 1] as RuleStep).element)
      problems.push(`T(${s.name}) after a later step`);
  });
  undone.forEach((s, i) => {
    if (i > 0 && s.element > (undone[i - 1] as RuleStep).element)
      problems.push(`C(${s.name}) after the compensation of an earlier step`);
  });
  const last = Math.max(-1, ...applied.map((s) => s.element));
  const missing = steps.filter((s) => s.element < last && !applied.includes(s));
  if (missing.length > 0)
    problems.push(`${missing.map((s) => s.name).join(', ')} did not take effect, a later step did`);

  const pivot = steps.find((s) => s.kind === 'pivot');
  if (status === 'COMPLETED') {
    const notApplied = steps.filter((s) => !applied.includes(s));
    if (notApplied.length > 0) problems.push(`COMPLETED without ${notApplied.map((s) => s.name).join(', ')}`);
    if (undone.length > 0) problems.push('COMPLETED, yet compensated');
  } else if (status === 'COMPENSATED') {
    const owed = applied.filter((s) => s.compensated);
    const notUndone = owed.filter((s) => !undone.includes(s));
    if (notUndone.length > 0) problems.push(`${notUndone.map((s) => s.name).join(', ')} not undone`);
    const strays = undone.filter((s) => !applied.includes(s));
    if (strays.length > 0) problems.push(`${strays.map((s) => s.name).join(', ')} undone without effect`);
    if (pivot && applied.includes(pivot))
      problems.push(`compensated after the pivot ${pivot.name} took effect`);
  } else {
    problems.push(`not finished`);
  }
  if (pivot) {
    const after = entries.filter(
      (e) => e.operation === 'undo' && (byName.get(e.step)?.element ?? -1) >= pivot.element,
    );
    if (after.length > 0)
      problems.push(`${after.map((e) => e.step).join(', ')} compensated from the pivot on`);
  }
  return problems.map((p) => `${p} (${said})`);
}
