import { env, listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { afterAll } from "vitest";

/**
 * A test file ends only once its objects are quiet. Every event an object gets (a call, a socket
 * closing, an alarm) first loads the Worker's module through Vitest; one that starts while Vitest
 * is closing the file fails the whole run with "Closing rpc while 'resolve' was pending". CI saw
 * that after the 300-conversation search test: a socket closed by the test's last line set off
 * presence broadcasts, which go on from alarms, while the file was being torn down.
 *
 * So each round waits a moment for calls already under way and then cancels every booked alarm,
 * until a round finds nothing booked. Tests that need an alarm's work wait for it themselves
 * (helpers/objects.ts untilAlarmDone); nothing a later file sees depends on these alarms.
 */
afterAll(async () => {
  for (let round = 0; round < 20; round++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const booked = (await cancelAlarms(env.USERS)) + (await cancelAlarms(env.CONVERSATIONS)) + (await cancelAlarms(env.DIRECTORY));
    if (booked === 0) return;
  }
});

/** Cancels the booked alarm of every object of `namespace`; returns how many had one. */
async function cancelAlarms<T extends Rpc.DurableObjectBranded | undefined>(namespace: DurableObjectNamespace<T>): Promise<number> {
  let booked = 0;
  const ids = await listDurableObjectIds(namespace);
  await Promise.all(
    ids.map((id) =>
      runInDurableObject(namespace.get(id), async (_object, state) => {
        if ((await state.storage.getAlarm()) === null) return;
        booked++;
        await state.storage.deleteAlarm();
      }),
    ),
  );
  return booked;
}
