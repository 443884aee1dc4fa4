import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { Conversation } from "../../src/objects/conversation/conversation";
import type { ConversationObject } from "../../src/objects/conversation/ConversationObject";
import { conversationHome } from "../../src/objects/homes";

/** The object holding a conversation (one of its own, or its shard's: CONVERSATION_SHARDS). */
export const conversationStub = (id: string) => conversationHome(env, id);

type Host = { conversation(id: string): Conversation };

/** One conversation inside the object holding it, for tests that look inside with runInDurableObject. */
export const conversationIn = (o: ConversationObject, id: string) => (o as unknown as Host).conversation(id);

/**
 * Runs an object's next alarm now, as the runtime does when its time comes (that time counts as now):
 * the tasks due by then run, and the alarm moves to the next one. An object's one alarm is shared by
 * every task it holds (of every conversation, in a shard), so the task a test waits for may be a
 * later one: run until `done` holds, or `times` alarms have run.
 */
export async function runAlarms(stub: DurableObjectStub, done: () => boolean | Promise<boolean> = () => true, times = 20): Promise<void> {
  for (let i = 0; i < times; i++) {
    if (!(await runDurableObjectAlarm(stub))) return;
    if (await done()) return;
  }
}

/**
 * As if an object's alarm task had come due at `at` (its other state moved by the test to match):
 * its recorded time is moved there and the object restarts (sockets hibernated, not closed), so the
 * instance that wakes reads its tasks and alarm from storage, and the runtime runs it at `at`.
 */
export async function taskDueAt(stub: DurableObjectStub, task: string, at: number, subject = ""): Promise<void> {
  await runInDurableObject(stub, (_o, state) => recordTasksDue(state, [task], subject, at, "set"));
  await evictDurableObject(stub, { webSockets: "hibernate" });
}

/**
 * Records tasks as due at `at` in an object's storage (`set`: exactly then; `earliest`: unless
 * already due sooner), and the object's alarm no later.
 */
export async function recordTasksDue(state: DurableObjectState, tasks: string[], subject: string, at: number, mode: "set" | "earliest"): Promise<void> {
  for (const task of tasks) {
    state.storage.sql.exec(
      `INSERT INTO alarm_tasks (task, subject, due_at) VALUES (?, ?, ?) ON CONFLICT (task, subject) DO UPDATE SET due_at = ${mode === "set" ? "excluded.due_at" : "MIN(due_at, excluded.due_at)"}`,
      task,
      subject,
      at,
    );
  }
  const stored = await state.storage.getAlarm();
  if (stored === null || stored > at) await state.storage.setAlarm(at);
}

/**
 * Waits for work an object's alarm does (an erasure, an expiry): the runtime may be running that alarm
 * already, so this runs it when one is booked and otherwise waits a moment, up to 10 s.
 */
export async function untilAlarmDone(stub: DurableObjectStub, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error("the alarm's work never finished");
    if (!(await runDurableObjectAlarm(stub))) await new Promise((r) => setTimeout(r, 20));
  }
}
