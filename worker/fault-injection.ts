import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';

/**
 * Fault injection for crash tests and chaos runs: with SAGA_FAULT_CRASH_AFTER_COMMIT=<activity>, the
 * process dies (SIGKILL) right after that activity committed its effect and before Temporal hears of it,
 * the worst moment for idempotency. Off unless the variable is set.
 */
export function crashAfterCommitInterceptor(
  activityType: string | undefined,
): ActivityInterceptorsFactory | undefined {
  if (!activityType) return undefined;
  return (ctx) => {
    const inbound: ActivityInboundCallsInterceptor = {
      async execute(input, next) {
        const result = await next(input);
        if (ctx.info.activityType === activityType) process.kill(process.pid, 'SIGKILL');
        return result;
      },
    };
    return { inbound };
  };
}
