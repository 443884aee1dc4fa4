import type { Env } from "../env";
import { AlarmTasks } from "./alarms";
import { LazySchema, type Migration } from "./migrations";

/**
 * What an object hands its modules: one context, not a closure per need. Modules book their own
 * alarm tasks (alarms.ts), keep work alive past a reply with `waitUntil`, and read `schema.ready`
 * where an object with no schema must answer without reading.
 */
export interface ObjectContext {
  readonly ctx: DurableObjectState;
  readonly env: Env;
  readonly storage: DurableObjectStorage;
  readonly schema: LazySchema;
  readonly alarms: AlarmTasks;
  waitUntil(work: Promise<unknown>): void;
}

export function objectContext(ctx: DurableObjectState, env: Env, migrations: readonly Migration[]): ObjectContext {
  const schema = new LazySchema(ctx.storage, migrations);
  return {
    ctx,
    env,
    storage: ctx.storage,
    schema,
    alarms: new AlarmTasks(ctx, schema),
    waitUntil: (work) => ctx.waitUntil(work),
  };
}
