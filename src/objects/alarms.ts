import { guarded } from "./guard";

/** A task that threw is looked at again this long after. */
export const TASK_RETRY_MS = 5_000;

/** What a task does when it comes due: returns when it wants to run again, if ever. */
export type TaskRun = (now: number, subject: string) => Promise<number | null> | number | null;

/** One kind of task (fan-out, typing expiry, a liveness check…), booked per subject or once per object. */
export interface TaskKind {
  /** Books the task for `at`, unless it is already booked for that time or sooner. */
  book(at: number, subject?: string): void;
  /** Whether the task is booked (for any time). */
  booked(subject?: string): boolean;
}

type TaskRow = { task: string; subject: string; due_at: number };

const keyOf = (task: string, subject: string) => `${task}\n${subject}`;

/**
 * An object has one alarm; several concerns want it. Each books a named task (per subject, e.g. a
 * conversation, or once per object) with its due time, recorded in the object's SQLite
 * (`alarm_tasks`), so a wake-up runs only the tasks that are due, books the alarm for the earliest
 * that remains, and an eviction forgets none of them. The stored alarm is known from the moment the
 * object wakes, and an earlier one is never replaced by a later one: a booking after an eviction
 * must not delay a fan-out retry or a push window already booked.
 *
 * The alarm's own time counts as "now" when it runs, so running it early (as tests do) is running
 * it as if its time had come.
 */
export class AlarmTasks {
  readonly #ctx: DurableObjectState;
  readonly #schema: { readonly ready: boolean };
  readonly #kinds = new Map<string, TaskRun>();
  /** The recorded due time of each booked task, as read when the object woke and kept in step since. */
  readonly #due = new Map<string, number>();
  /** The stored alarm, or null once it has fired and nothing was booked since. */
  #alarmAt: number | null = null;
  /** Settles once the stored alarm and tasks are read. */
  readonly #woken: Promise<void>;

  constructor(ctx: DurableObjectState, schema: { readonly ready: boolean }) {
    this.#ctx = ctx;
    this.#schema = schema;
    // Read before any event runs, alarm() included. An object with no schema has no tasks (and a
    // lookup of an id that names nothing must not make any).
    this.#woken = ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
      this.#read();
      // A task recorded without its alarm (a booking cut short) is not left waiting for another one.
      await this.#arm();
    });
  }

  /** Names a kind of task and what it does; its bookings are made through what this returns. */
  define(task: string, run: TaskRun): TaskKind {
    this.#kinds.set(task, run);
    return {
      book: (at, subject = "") => void this.book(task, at, subject),
      booked: (subject = "") => this.#due.has(keyOf(task, subject)),
    };
  }

  /** Books `task` for `at` unless it is booked for that time or sooner; the alarm follows the earliest. */
  async book(task: string, at: number, subject = ""): Promise<void> {
    const key = keyOf(task, subject);
    const booked = this.#due.get(key);
    if (booked === undefined || at < booked) {
      this.#due.set(key, at);
      // Objects book only once they hold something, so the table is there; if not, the booking
      // lives in memory only (an object with no schema has nothing to wake for after an eviction).
      if (this.#schema.ready) {
        this.#ctx.storage.sql.exec(
          `INSERT INTO alarm_tasks (task, subject, due_at) VALUES (?, ?, ?)
           ON CONFLICT (task, subject) DO UPDATE SET due_at = MIN(due_at, excluded.due_at)`,
          task,
          subject,
          at,
        );
      }
    }
    await this.#woken;
    await this.#arm();
  }

  /**
   * Every kind booked once per object looks again at `at`: after rows arrived behind the modules'
   * backs (a user handed over from another object), each finds what it now holds.
   */
  bookEvery(at: number): void {
    for (const task of this.#kinds.keys()) void this.book(task, at);
  }

  /** Forgets every task of a subject (a conversation that moved away). */
  cancel(subject: string): void {
    for (const key of [...this.#due.keys()]) if (key.split("\n")[1] === subject) this.#due.delete(key);
    if (this.#schema.ready) this.#ctx.storage.sql.exec("DELETE FROM alarm_tasks WHERE subject = ?", subject);
  }

  /**
   * Call from alarm(): runs each task due by now (the alarm's own time), each guarded so one that
   * throws is booked again in TASK_RETRY_MS and the others still run; books what each asks for next,
   * and the alarm for the earliest task left.
   */
  async run(): Promise<void> {
    await this.#woken;
    const now = Math.max(Date.now(), this.#alarmAt ?? 0);
    // The stored alarm is the one running: any time booked from here on must be set.
    this.#alarmAt = null;
    const due = this.#schema.ready
      ? this.#ctx.storage.sql.exec<TaskRow>("SELECT task, subject, due_at FROM alarm_tasks WHERE due_at <= ? ORDER BY due_at", now).toArray()
      : [...this.#due].filter(([, at]) => at <= now).map(([key, at]) => ({ task: key.split("\n")[0]!, subject: key.split("\n")[1]!, due_at: at }));
    // Off the books in memory, all of them before any runs, so what a task books (for itself or
    // another) stands and the alarm is not set back to a task about to run; in storage each stays as
    // a lease while it runs: an object that dies mid-task runs it again then.
    for (const { task, subject } of due) this.#due.delete(keyOf(task, subject));
    for (const { task, subject } of due) {
      const key = keyOf(task, subject);
      const run = this.#kinds.get(task);
      if (this.#schema.ready) {
        if (run) this.#ctx.storage.sql.exec("UPDATE alarm_tasks SET due_at = ? WHERE task = ? AND subject = ?", Date.now() + TASK_RETRY_MS, task, subject);
        else this.#ctx.storage.sql.exec("DELETE FROM alarm_tasks WHERE task = ? AND subject = ?", task, subject);
      }
      if (!run) continue; // a task this code no longer has
      await guarded(
        `alarm task ${task}`,
        subject ? { subject } : {},
        async () => {
          const next = await run(now, subject);
          if (next !== null) await this.book(task, next, subject);
        },
        () => this.book(task, Date.now() + TASK_RETRY_MS, subject),
      );
      // The lease ends: the row becomes what was booked meanwhile, or goes.
      if (this.#schema.ready) {
        const booked = this.#due.get(key);
        if (booked === undefined) this.#ctx.storage.sql.exec("DELETE FROM alarm_tasks WHERE task = ? AND subject = ?", task, subject);
        else this.#ctx.storage.sql.exec("UPDATE alarm_tasks SET due_at = ? WHERE task = ? AND subject = ?", booked, task, subject);
      }
    }
    // The table is what counts: the alarm follows its earliest task.
    this.#read();
    await this.#arm();
  }

  /** What is booked, as recorded. */
  #read(): void {
    if (!this.#schema.ready) return;
    this.#due.clear();
    for (const row of this.#ctx.storage.sql.exec<TaskRow>("SELECT task, subject, due_at FROM alarm_tasks").toArray()) {
      this.#due.set(keyOf(row.task, row.subject), row.due_at);
    }
  }

  /** Sets the alarm for the earliest booked task, unless the stored one is that early already. */
  async #arm(): Promise<void> {
    let earliest = Infinity;
    for (const at of this.#due.values()) if (at < earliest) earliest = at;
    if (earliest === Infinity || (this.#alarmAt !== null && this.#alarmAt <= earliest)) return;
    this.#alarmAt = earliest;
    await this.#ctx.storage.setAlarm(earliest);
  }
}
