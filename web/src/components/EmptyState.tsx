import { ChatIcon } from "./icons";

export function EmptyState() {
  return (
    <div class="empty-state">
      <div class="empty-illustration" aria-hidden="true">
        <ChatIcon />
      </div>
      <h2>Pick up a conversation</h2>
      <p class="muted">Choose a chat on the left, or start a new one with “New chat”. Messages you write offline are sent as soon as you're back.</p>
    </div>
  );
}
