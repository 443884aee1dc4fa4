import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { AlarmTasks } from "../../src/objects/alarms";
import { userMigrations } from "../../src/objects/user/migrations";

// A directory object nobody else uses holds the tasks' table (the user objects' own migration makes it).
const scratch = () => env.DIRECTORY.get(env.DIRECTORY.idFromName(`scratch-${crypto.randomUUID()}`));
const taskTable = userMigrations.find((m) => m.name === "alarm tasks")!.sql.split(";")[0]!;
const schema = { ready: true };
type Row = { task: string; subject: string; due_at: number };

describe("alarm tasks", () => {
  it("keep the earliest booking, never let a later one replace an earlier stored alarm, and survive a restart", async () => {
    await runInDurableObject(scratch(), async (_o, state) => {
      state.storage.sql.exec(taskTable);
      const rows = () => state.storage.sql.exec<Row>("SELECT task, subject, due_at FROM alarm_tasks ORDER BY due_at").toArray();
      const ran: string[] = [];
      const kinds = (tasks: AlarmTasks) => {
        tasks.define("fanout", (_now, subject) => (ran.push(`fanout ${subject}`), null));
        tasks.define("typing", (_now, subject) => (ran.push(`typing ${subject}`), null));
      };
      const soon = Date.now() + 3_600_000;
      const first = new AlarmTasks(state, schema);
      kinds(first);
      await first.book("fanout", soon, "c1");
      await first.book("fanout", soon + 5_000, "c1"); // later: the booking stands
      expect(await state.storage.getAlarm()).toBe(soon);

      // A fresh instance, as after an eviction: it reads the stored alarm and the recorded tasks.
      const fresh = new AlarmTasks(state, schema);
      kinds(fresh);
      await fresh.book("typing", soon + 60_000, "c2");
      expect(await state.storage.getAlarm()).toBe(soon);
      await fresh.book("typing", soon - 30_000, "c2");
      expect(await state.storage.getAlarm()).toBe(soon - 30_000);
      expect(rows()).toEqual([
        { task: "typing", subject: "c2", due_at: soon - 30_000 },
        { task: "fanout", subject: "c1", due_at: soon },
      ]);

      // The alarm runs as at its own time: only the task due then, and the alarm moves to the next.
      await fresh.run();
      expect(ran).toEqual(["typing c2"]);
      expect(rows()).toEqual([{ task: "fanout", subject: "c1", due_at: soon }]);
      expect(await state.storage.getAlarm()).toBe(soon);
      await state.storage.deleteAlarm();
    });
  });

  it("books a task that throws again, and still runs the others", async () => {
    await runInDurableObject(scratch(), async (_o, state) => {
      state.storage.sql.exec(taskTable);
      const tasks = new AlarmTasks(state, schema);
      const ran: string[] = [];
      tasks.define("broken", () => {
        throw new Error("injected");
      });
      tasks.define("fine", () => {
        ran.push("fine");
        return null;
      });
      const at = Date.now() + 3_600_000;
      await tasks.book("broken", at);
      await tasks.book("fine", at);
      await tasks.run();
      expect(ran).toEqual(["fine"]);
      const left = state.storage.sql.exec<Row>("SELECT task, subject, due_at FROM alarm_tasks").toArray();
      expect(left.map((r) => r.task)).toEqual(["broken"]);
      expect(await state.storage.getAlarm()).toBe(left[0]!.due_at);
      await state.storage.deleteAlarm();
    });
  });

  it("keep a running task booked as a lease, so an object that dies mid-task runs it again; then the task's own booking stands", async () => {
    await runInDurableObject(scratch(), async (_o, state) => {
      state.storage.sql.exec(taskTable);
      const rows = () => state.storage.sql.exec<Row>("SELECT task, subject, due_at FROM alarm_tasks ORDER BY task").toArray();
      const tasks = new AlarmTasks(state, schema);
      const during = new Map<string, Row[]>();
      const later = Date.now() + 7_200_000;
      tasks.define("sweep", () => {
        during.set("sweep", rows());
        return null;
      });
      tasks.define("again", () => {
        during.set("again", rows());
        return later;
      });
      const at = Date.now() + 3_600_000;
      await tasks.book("sweep", at, "u1");
      await tasks.book("again", at, "u1");
      await tasks.run();
      // While each ran, its row was there, due again soon after (had the object died, it would run again).
      for (const task of ["again", "sweep"]) {
        const mine = during.get(task)!.find((r) => r.task === task)!;
        expect(mine.due_at).toBeGreaterThan(Date.now());
        expect(mine.due_at).toBeLessThan(at);
      }
      // After: the task that asked for a later run has exactly that; the other is gone.
      expect(rows()).toEqual([{ task: "again", subject: "u1", due_at: later }]);
      expect(await state.storage.getAlarm()).toBe(later);
      await state.storage.deleteAlarm();
    });
  });
});
