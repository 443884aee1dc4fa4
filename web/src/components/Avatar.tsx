import { useEffect, useState } from "preact/hooks";
import type { Photo } from "../../../src/client";
import { useApp } from "../context";
import { hue, initials } from "../format";

/**
 * A round photo (a profile's, or a group's) when there is one the viewer may see, else a coloured
 * circle with initials. Decorative: the name is always written next to it.
 */
export function Avatar({
  userId,
  name,
  size = "medium",
  group = false,
  photo,
}: {
  userId: string;
  name: string;
  size?: "small" | "medium" | "large";
  group?: boolean;
  photo?: Photo;
}) {
  const [url, fallBack] = usePhotoUrl(photo);
  return (
    <span class={`avatar avatar-${size}${group ? " avatar-group" : ""}`} style={{ "--avatar-hue": hue(userId) }} aria-hidden="true">
      {url ? <img class="avatar-photo" src={url} alt="" data-testid="avatar-photo" onError={fallBack} /> : initials(name)}
    </span>
  );
}

/**
 * The URL of a photo's thumbnail (fetched once per media and kept while valid by the SDK), or null;
 * and what to do when it fails to load: a photo set a moment ago has no thumbnail yet, so the full
 * image stands in.
 */
function usePhotoUrl(photo: Photo | undefined): [string | null, () => void] {
  const { client } = useApp();
  const mediaId = photo?.media_id;
  const [url, setUrl] = useState<{ mediaId: string; url: string; full: boolean } | null>(null);
  useEffect(() => {
    if (!mediaId) return;
    let live = true;
    client
      .photoUrl({ media_id: mediaId })
      .then((u) => live && u && setUrl({ mediaId, url: u, full: false }))
      .catch(() => {
        /* not visible (privacy) or gone: initials */
      });
    return () => {
      live = false;
    };
  }, [client, mediaId]);
  const fallBack = () => {
    if (!mediaId || !url || url.full) return setUrl(null);
    client
      .mediaUrls(mediaId)
      .then((u) => setUrl({ mediaId, url: u.url, full: true }))
      .catch(() => setUrl(null));
  };
  return [url && url.mediaId === mediaId ? url.url : null, fallBack];
}
