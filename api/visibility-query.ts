import type { ListSagasQuery } from './schemas';

/**
 * Builds a Temporal visibility query from validated filters. Values were checked against strict patterns
 * by the query schema; quoting here is a second guard against query injection.
 */
export function buildListQuery(
  workflowTypes: string | readonly string[],
  filters: Omit<ListSagasQuery, 'sagaName'>,
  /** Only the sagas this principal started (callers without sagas:operate). */
  startedBy?: string,
): string {
  const types = typeof workflowTypes === 'string' ? [workflowTypes] : workflowTypes;
  const clauses = [
    types.length === 1
      ? `WorkflowType = ${quote(types[0] as string)}`
      : `WorkflowType IN (${types.map(quote).join(', ')})`,
  ];
  if (startedBy !== undefined) clauses.push(`StartedBy = ${quote(startedBy)}`);
  if (filters.status) clauses.push(`SagaStatus = ${quote(filters.status)}`);
  if (filters.customerId) clauses.push(`CustomerId = ${quote(filters.customerId)}`);
  if (filters.orderId) clauses.push(`OrderId = ${quote(filters.orderId)}`);
  if (filters.startedAfter)
    clauses.push(`StartTime >= ${quote(new Date(filters.startedAfter).toISOString())}`);
  if (filters.startedBefore)
    clauses.push(`StartTime <= ${quote(new Date(filters.startedBefore).toISOString())}`);
  return clauses.join(' AND ');
}

function quote(value: string): string {
  if (/['"\\]/.test(value)) throw new Error('visibility query values must not contain quotes or backslashes');
  return `'${value}'`;
}
