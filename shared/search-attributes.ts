import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes of a saga, kept current by the workflow so the Temporal Web UI and the API can
 * filter sagas. The dev server registers them at start (see scripts/temporal).
 */
export const SEARCH_ATTRIBUTES = {
  SagaStatus: 'Keyword',
  OrderId: 'Keyword',
  CustomerId: 'Keyword',
  /** The principal that started the saga (the API sets it at start): ownership and list filtering. */
  StartedBy: 'Keyword',
} as const;

export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;

export const sagaStatusKey = defineSearchAttributeKey('SagaStatus', SearchAttributeType.KEYWORD);
export const orderIdKey = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);
export const customerIdKey = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const startedByKey = defineSearchAttributeKey('StartedBy', SearchAttributeType.KEYWORD);
