import { deflateSync } from "node:zlib";
import type { Locator } from "playwright-core";

// A real PNG, made here: 8-bit RGB, one zlib stream, CRC32 per chunk (browser tests upload it).

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "ascii");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}
/** A sunset: a sky gradient, a sun and the sea, `width`×`height`. */
export function sunsetPng(width: number, height: number): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  const horizon = Math.round(height * 0.62);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const t = y / horizon;
      let [r, g, b] = y < horizon ? [255 - 40 * t, 120 + 80 * t, 90 + 60 * (1 - t)] : [20, 60 + ((x + y) % 7), 110];
      const dx = x - width * 0.6;
      const dy = y - horizon * 0.8;
      if (y < horizon && dx * dx + dy * dy < (height * 0.14) ** 2) [r, g, b] = [255, 214, 90];
      raw.set([Math.round(r), Math.round(g), Math.round(b)], row + 1 + x * 3);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, RGB, deflate, no filter method, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

/** An <img>'s decoded width: 0 until it has loaded. */
export const naturalWidth = (img: Locator) =>
  img.evaluate((el) => {
    const image = el as unknown as { complete: boolean; naturalWidth: number };
    return image.complete ? image.naturalWidth : 0;
  });
