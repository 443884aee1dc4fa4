import { useUsers } from "../../context";
import { Avatar } from "../Avatar";
import { SettingsIcon, StarIcon } from "../icons";

/** The brand, who is signed in, Starred messages, Settings and Log out. Hidden on phones while a chat is open. */
export function AppHeader({ onStarred, onSettings, onLogout }: { onStarred(): void; onSettings(): void; onLogout(): void }) {
  const users = useUsers();
  const me = users.me.user_id;
  return (
    <header class="app-header">
      <div class="brand">
        <span class="brand-mark" aria-hidden="true">
          P
        </span>
        <span class="brand-name">Parley</span>
      </div>
      <div class="app-user">
        <Avatar userId={me} name={users.name(me)} size="small" photo={users.photo(me)} />
        <span class="app-user-name" data-testid="current-user">
          {users.name(me)}
        </span>
        <button type="button" class="button button-ghost header-settings" aria-label="Starred messages" onClick={onStarred}>
          <StarIcon />
          <span class="header-label">Starred</span>
        </button>
        <button type="button" class="button button-ghost header-settings" onClick={onSettings}>
          <SettingsIcon />
          <span class="header-label">Settings</span>
        </button>
        <button type="button" class="button button-ghost" onClick={onLogout}>
          Log out
        </button>
      </div>
    </header>
  );
}
