import { hue, initials } from "../format";

/** A coloured circle with initials; decorative, the name is always written next to it. */
export function Avatar({ userId, name, size = "medium", group = false }: { userId: string; name: string; size?: "small" | "medium" | "large"; group?: boolean }) {
  return (
    <span class={`avatar avatar-${size}${group ? " avatar-group" : ""}`} style={{ "--avatar-hue": hue(userId) }} aria-hidden="true">
      {initials(name)}
    </span>
  );
}
