import { useEffect, useId, useState } from "preact/hooks";
import { GroupsAdd, ParleyApiError, PresenceVisibleTo, ProfileVisibleTo, type UserSettings } from "../../../src/client";
import { useApp } from "../context";
import { disablePush, enablePush, PUSH_BLOCKED, PUSH_UNAVAILABLE, PushSetupError, pushState, type PushState } from "../push";
import { deviceId } from "../session";
import { Dialog, FormError } from "./Dialog";
import { ProfileEditor } from "./ProfileEditor";

interface SwitchProps {
  label: string;
  description: string;
  checked: boolean;
  disabled?: boolean;
  onChange(checked: boolean): void;
  testId?: string;
}

/** A labelled on/off switch: a real checkbox with role="switch", its description read with it. */
function Switch({ label, description, checked, disabled, onChange, testId }: SwitchProps) {
  const id = useId();
  const descriptionId = useId();
  return (
    <div class="switch-row">
      <div class="switch-text">
        <label for={id}>{label}</label>
        <p id={descriptionId} class="hint" data-testid={testId}>
          {description}
        </p>
      </div>
      <input
        id={id}
        type="checkbox"
        role="switch"
        class="switch"
        checked={checked}
        disabled={disabled}
        aria-describedby={descriptionId}
        onChange={(e) => onChange(e.currentTarget.checked)}
      />
    </div>
  );
}

function pushDescription(state: PushState, unavailable: boolean): string {
  if (state === "unsupported" || unavailable) return PUSH_UNAVAILABLE;
  if (state === "denied") return PUSH_BLOCKED;
  if (state === "on") return "You'll be notified of new messages while Parley is closed.";
  return "Get notified of new messages while Parley is closed.";
}

function errorText(err: unknown): string {
  if (err instanceof PushSetupError || err instanceof ParleyApiError) return err.message;
  return "Something went wrong. Please try again.";
}

type SettingKey = keyof UserSettings;

/** The protocol's audiences for a privacy setting (the same three for both today). */
type Audience = GroupsAdd | PresenceVisibleTo | ProfileVisibleTo;
const AUDIENCE_LABELS: Record<Audience, string> = {
  everyone: "Everyone",
  contacts: "My contacts",
  nobody: "Nobody",
};

interface AudienceChoiceProps<T extends Audience> {
  label: string;
  description: string;
  /** The setting's values, from its protocol enum. */
  choices: readonly T[];
  value: T;
  disabled: boolean;
  onChange(v: T): void;
}

/** A privacy choice among everyone / my contacts / nobody, labelled and described. */
function AudienceChoice<T extends Audience>({ label, description, choices, value, disabled, onChange }: AudienceChoiceProps<T>) {
  const id = useId();
  const descriptionId = useId();
  return (
    <div class="switch-row">
      <div class="switch-text">
        <label for={id}>{label}</label>
        <p id={descriptionId} class="hint">
          {description}
        </p>
      </div>
      <select
        id={id}
        value={value}
        disabled={disabled}
        aria-describedby={descriptionId}
        onChange={(e) => {
          const picked = choices.find((c) => c === e.currentTarget.value);
          if (picked) onChange(picked);
        }}
      >
        {choices.map((k) => (
          <option key={k} value={k}>
            {AUDIENCE_LABELS[k]}
          </option>
        ))}
      </select>
    </div>
  );
}

/** The profile, notifications on this device, and the account-wide settings and privacy (from `me`). */
export function SettingsDialog({ onClose, onLogoutEverywhere }: { onClose(): void; onLogoutEverywhere(): void }) {
  const { client, users } = useApp();
  const userId = users.me.user_id;
  const [settings, setSettings] = useState<UserSettings | null>(null);
  const [saving, setSaving] = useState<SettingKey | null>(null);
  const [push, setPush] = useState<PushState>(() => pushState(userId));
  /** The switch position while turning notifications on or off. */
  const [pushTarget, setPushTarget] = useState<boolean | null>(null);
  /** Subscribing failed: this browser has no reachable push service. */
  const [unavailable, setUnavailable] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    client.rest
      .call("me")
      .then(({ user, settings }) => {
        if (!live) return;
        users.put(user);
        setSettings(settings);
      })
      .catch(() => live && setError("Couldn't load your settings. Check your connection and try again."));
    return () => {
      live = false;
    };
  }, [client, users]);

  async function togglePush(on: boolean) {
    setPushTarget(on);
    setError(null);
    try {
      if (on) await enablePush(client, deviceId(), userId);
      else await disablePush(client, deviceId());
      setUnavailable(false);
    } catch (err) {
      if (err instanceof PushSetupError && err.reason === "unsupported") {
        setUnavailable(true);
        setError(`${PUSH_UNAVAILABLE}: it could not reach its push service. Parley still works while it's open.`);
      } else if (!(err instanceof PushSetupError && err.reason === "denied")) {
        setError(errorText(err));
      }
    } finally {
      setPush(pushState(userId));
      setPushTarget(null);
    }
  }

  async function update<K extends SettingKey>(key: K, value: UserSettings[K]) {
    if (!settings) return;
    const before = settings;
    setSettings({ ...settings, [key]: value });
    setSaving(key);
    setError(null);
    try {
      const { settings: saved } = await client.rest.call("updateMe", { body: { [key]: value } });
      setSettings(saved);
    } catch (err) {
      setSettings(before);
      setError(err instanceof ParleyApiError && err.status !== 0 ? err.message : "Couldn't save that change. Check your connection and try again.");
    } finally {
      setSaving(null);
    }
  }

  return (
    <Dialog title="Settings" onClose={onClose}>
      <ProfileEditor />
      <section class="settings-section" aria-labelledby="settings-notifications">
        <h3 id="settings-notifications" class="settings-heading">
          Notifications
        </h3>
        <Switch
          label="Notifications on this device"
          description={pushDescription(push, unavailable)}
          checked={pushTarget ?? push === "on"}
          disabled={pushTarget !== null || push === "unsupported" || push === "denied"}
          onChange={(on) => void togglePush(on)}
          testId="push-status"
        />
        <Switch
          label="Show message text in notifications"
          description="When off, notifications only say “New message”. Applies to all your devices."
          checked={settings?.push_previews ?? true}
          disabled={!settings || saving === "push_previews"}
          onChange={(on) => void update("push_previews", on)}
        />
      </section>
      <section class="settings-section" aria-labelledby="settings-chats">
        <h3 id="settings-chats" class="settings-heading">
          Chats
        </h3>
        <Switch
          label="Keep chats archived"
          description="When on, an archived chat stays archived when a new message arrives. Applies to all your devices."
          checked={settings?.keep_archived ?? false}
          disabled={!settings || saving === "keep_archived"}
          onChange={(on) => void update("keep_archived", on)}
        />
      </section>
      <section class="settings-section" aria-labelledby="settings-privacy">
        <h3 id="settings-privacy" class="settings-heading">
          Privacy
        </h3>
        <Switch
          label="Share my last seen"
          description="When off, no one sees when you were last online, and you don't see theirs."
          checked={settings?.last_seen_visible ?? true}
          disabled={!settings || saving === "last_seen_visible"}
          onChange={(on) => void update("last_seen_visible", on)}
        />
        <AudienceChoice
          label="Who sees when I'm online"
          description="Online and last seen, for people you share a chat with. With Nobody, you don't see anyone's either."
          choices={PresenceVisibleTo.options}
          value={settings?.presence_visible_to ?? "everyone"}
          disabled={!settings || saving === "presence_visible_to"}
          onChange={(v) => void update("presence_visible_to", v)}
        />
        <AudienceChoice
          label="Who sees my profile photo"
          description="Anyone else sees your initials instead."
          choices={ProfileVisibleTo.options}
          value={settings?.photo_visible_to ?? "everyone"}
          disabled={!settings || saving === "photo_visible_to"}
          onChange={(v) => void update("photo_visible_to", v)}
        />
        <AudienceChoice
          label="Who sees my about"
          description="The line under your name in your profile."
          choices={ProfileVisibleTo.options}
          value={settings?.about_visible_to ?? "everyone"}
          disabled={!settings || saving === "about_visible_to"}
          onChange={(v) => void update("about_visible_to", v)}
        />
        <Switch
          label="Read receipts"
          description="When off, people don't see when you've read their messages, and you don't see when they've read yours. Delivered ticks still show."
          checked={settings?.read_receipts ?? true}
          disabled={!settings || saving === "read_receipts"}
          onChange={(on) => void update("read_receipts", on)}
          testId="read-receipts"
        />
        <AudienceChoice
          label="Who can add me to groups"
          description="Anyone else has to send you an invitation. Contacts are people you started a chat with, added to a group, or wrote to."
          choices={GroupsAdd.options}
          value={settings?.groups_add ?? "everyone"}
          disabled={!settings || saving === "groups_add"}
          onChange={(v) => void update("groups_add", v)}
        />
      </section>
      <section class="settings-section" aria-labelledby="settings-sessions">
        <h3 id="settings-sessions" class="settings-heading">
          Sessions
        </h3>
        <p class="settings-hint">Lost a phone or used a shared computer? This signs out Parley everywhere, this browser included.</p>
        <button type="button" class="button button-danger-ghost" onClick={onLogoutEverywhere}>
          Log out all devices
        </button>
      </section>
      <FormError error={error} />
    </Dialog>
  );
}
