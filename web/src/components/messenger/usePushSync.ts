import { useEffect } from "preact/hooks";
import type { ParleyClient } from "../../../../src/client";
import { onWorkerMessage, resumePush } from "../../push";
import { deviceId } from "../../session";

/**
 * Notifications: at start, and when the service worker had to subscribe again, keep the worker and the
 * server's copy of this browser's subscription current (if notifications are on for this user here).
 */
export function usePushSync(client: ParleyClient, userId: string): void {
  useEffect(() => {
    const sync = () => resumePush(client, deviceId(), userId).catch((err: unknown) => console.warn("push", err));
    void sync();
    return onWorkerMessage((msg) => {
      if (msg.type === "parley:resubscribed") void sync();
    });
  }, [client]);
}
