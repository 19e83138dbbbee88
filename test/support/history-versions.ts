/**
 * Replay fixtures, one folder per engine version (test/fixtures/histories/<version>). An engine change to
 * workflow code goes behind `patched()` and gets a new folder; the old folders stay and keep replaying.
 */
export const ENDINGS = [
  'completed',
  'completed-after-retries',
  'compensated-declined',
  'compensated-parallel',
  'compensated-cancelled',
  'compensated-after-resume',
  'resolved',
];

/**
 * Endings only some versions have (deadlines and waiting for a step in flight came with forward recovery;
 * stock and refunds with v3).
 */
export const VERSION_ENDINGS: Record<string, string[]> = {
  'v1-attempt-budget': [],
  'v2-forward-recovery': ['compensated-step-deadline', 'compensated-cancelled-in-flight'],
  // Order saga v2 (stock reserved before payment) and the refund saga.
  'v3-inventory': [
    'compensated-step-deadline',
    'compensated-cancelled-in-flight',
    'compensated-out-of-stock',
    'refund-completed',
    'refund-compensated',
  ],
  // Cancel/resume/resolve updates name their requester (audit); results carry the final state.
  'v4-audit-final-state': [
    'compensated-step-deadline',
    'compensated-cancelled-in-flight',
    'compensated-out-of-stock',
    'refund-completed',
    'refund-compensated',
  ], // A finished saga leaves its outcome in a memo (patched 'outcome-memo'): GET reads it with one describe.
  'v5-outcome-memo': [
    'compensated-step-deadline',
    'compensated-cancelled-in-flight',
    'compensated-out-of-stock',
    'refund-completed',
    'refund-compensated',
  ],
};

export const HISTORY_VERSIONS = Object.keys(VERSION_ENDINGS);

/** The folder `npm run test:record-histories` writes: the version new sagas run. */
export const CURRENT_HISTORY_VERSION = HISTORY_VERSIONS[HISTORY_VERSIONS.length - 1] as string;

export const endingsOf = (version: string): string[] =>
  [...ENDINGS, ...(VERSION_ENDINGS[version] ?? [])].sort();
