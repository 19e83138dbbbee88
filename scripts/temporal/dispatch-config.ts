/**
 * Temporal settings that cut what a task dispatch costs, shared by every way the project runs Temporal:
 * the dev server (`npm start`, the tests, the benchmark), the cluster mode and compose
 * (docker/temporal-dynamicconfig.yaml, held equal by test/unit/docker-compose.test.ts). Each one is
 * measured by `npm run bench:dispatch` (README, "Dispatch cost").
 */

/**
 * History loads the tasks it has to hand to matching (a workflow or activity task to dispatch, a timer, a
 * visibility record) through queue readers limited to 20 loads a second per shard by default. The dev server
 * has one shard, so every dispatch waited for that limiter's next token: about 45 ms, 11 times in a
 * 5-activity workflow. At 1,000 a reader loads a task as soon as it is written; it still only loads when
 * there is something new.
 */
export const DISPATCH_DYNAMIC_CONFIG: Readonly<Record<string, number>> = {
  'history.transferProcessorMaxPollRPS': 1000,
  'history.timerProcessorMaxPollRPS': 1000,
  'history.visibilityProcessorMaxPollRPS': 1000,
};

/**
 * The dev server's SQLite file in WAL mode without an fsync per commit: a commit survives a crash of the
 * server process (the WAL is in the OS's cache), only an OS crash or power loss can lose the last ones,
 * which is the trade a local development stack can make. By default SQLite syncs every commit, and the
 * disk then bounds every figure.
 */
export const FILE_STORE_PRAGMAS: Readonly<Record<string, string>> = {
  journal_mode: 'wal',
  synchronous: 'normal',
};
