import { useState } from "preact/hooks";
import { Limits } from "../../../src/client";
import { useApp } from "../context";
import { errorText } from "../errors";
import { Avatar } from "./Avatar";
import { FormError } from "./Dialog";
import { PhotoPicker } from "./PhotoPicker";

/**
 * The signed-in user's profile: photo (uploaded through the media pipeline; the old one is deleted),
 * display name and "about". Who sees the photo and the about is set under Privacy.
 */
export function ProfileEditor() {
  const { client, users } = useApp();
  const me = users.me.user_id;
  const profile = client.profile();
  const [name, setName] = useState(users.name(me));
  const [about, setAbout] = useState(profile.about ?? users.about(me) ?? "");
  const [busy, setBusy] = useState<"photo" | "text" | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const photo = users.photo(me);

  async function act(kind: "photo" | "text", work: () => Promise<void>) {
    setBusy(kind);
    setError(null);
    setSaved(false);
    try {
      await work();
      if (kind === "text") setSaved(true);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(null);
    }
  }

  const setPhoto = (file: File | null) =>
    act("photo", async () => {
      users.put(await client.setProfilePhoto(file));
    });

  const saveText = (e: Event) => {
    e.preventDefault();
    void act("text", async () => {
      const { user } = await client.updateMe({ display_name: name, about: about.trim() });
      users.put(user);
      setName(user.display_name);
      setAbout(user.about ?? "");
    });
  };

  return (
    <section class="settings-section profile-editor" aria-labelledby="settings-profile">
      <h3 id="settings-profile" class="settings-heading">
        Profile
      </h3>
      <div class="profile-photo-row">
        <Avatar userId={me} name={users.name(me)} size="large" photo={photo} />
        <div class="profile-photo-actions">
          <PhotoPicker
            hasPhoto={photo !== undefined}
            busy={busy !== null}
            addLabel="Add photo"
            inputLabel="Choose a profile photo"
            testId="profile-photo-input"
            onPick={(file) => void setPhoto(file)}
          />
        </div>
      </div>
      <form class="profile-form" onSubmit={saveText}>
        <label for="profile-name">Name</label>
        <input id="profile-name" maxLength={Limits.displayNameMaxLength} value={name} onInput={(e) => setName(e.currentTarget.value)} required />
        <label for="profile-about">About</label>
        <input
          id="profile-about"
          maxLength={Limits.aboutMaxLength}
          placeholder="Hey there! I am using Parley."
          value={about}
          onInput={(e) => setAbout(e.currentTarget.value)}
        />
        <div class="profile-form-actions">
          <button type="submit" class="button button-small" disabled={busy !== null || !name.trim()}>
            {busy === "text" ? "Saving…" : "Save"}
          </button>
          {saved && (
            <span class="hint" role="status">
              Saved
            </span>
          )}
        </div>
      </form>
      <FormError error={error} />
    </section>
  );
}
