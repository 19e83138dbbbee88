/**
 * A compensation's core: undo what the step did or, when the step has not taken effect (yet), leave a
 * tombstone so that the step arriving late does nothing. A step committing at the same moment makes the
 * tombstone's insert wait for it and then find the row: the undo is tried once more, on what it committed.
 * Runs inside the compensation's transaction; returns the effect its ledger records.
 */
export async function undoOrTombstone(
  undoneEffect: string,
  undo: () => Promise<boolean>,
  insertTombstone: () => Promise<boolean>,
): Promise<{ effect: string }> {
  if (await undo()) return { effect: undoneEffect };
  if (await insertTombstone()) return { effect: 'tombstone' };
  return { effect: (await undo()) ? undoneEffect : 'none' };
}
