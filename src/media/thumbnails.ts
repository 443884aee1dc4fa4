import { PhotonImage, resize, SamplingFilter } from "@cf-wasm/photon/workerd";
import { Limits } from "../protocol";

export interface Thumbnail {
  jpeg: Uint8Array;
  /** The original's dimensions, recorded for clients to lay out a message before it loads. */
  width: number;
  height: number;
}

/**
 * A small JPEG that fits in a `thumbnailMaxPixels` square, made with photon (Rust image code compiled
 * to WebAssembly, which runs in workerd). Never upscales. The WebAssembly memory is freed explicitly.
 */
export function makeThumbnail(bytes: Uint8Array): Thumbnail {
  const image = PhotonImage.new_from_byteslice(bytes);
  try {
    const width = image.get_width();
    const height = image.get_height();
    const scale = Math.min(1, Limits.thumbnailMaxPixels / Math.max(width, height));
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    const small = scale < 1 ? resize(image, w, h, SamplingFilter.Triangle) : image;
    try {
      return { jpeg: small.get_bytes_jpeg(72), width, height };
    } finally {
      if (small !== image) small.free();
    }
  } finally {
    image.free();
  }
}
