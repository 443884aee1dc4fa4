import { useApp, useClientEvents } from "../context";

/** Says why messages are not flowing, whenever the socket is not open. */
export function ConnectionBanner() {
  const { client } = useApp();
  useClientEvents(["connection"]);
  const state = client.connectionState;
  if (state === "open" || state === "closed") return null;
  return (
    <div class={`connection-banner banner-${state}`} role="status" data-testid="connection-banner" data-state={state}>
      {state === "offline" && <span>You're offline. Messages will be sent when you're back online.</span>}
      {state === "replaced" && (
        <>
          <span>Parley is open in another tab.</span>
          <button type="button" class="button button-small" onClick={() => client.reconnectNow()}>
            Use here
          </button>
        </>
      )}
      {(state === "connecting" || state === "waiting") && (
        <>
          <span>Connecting…</span>
          <button type="button" class="button button-small" onClick={() => client.reconnectNow()}>
            Retry now
          </button>
        </>
      )}
    </div>
  );
}
