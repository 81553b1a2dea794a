/** CRC16-CCITT (XMODEM) lookup table, the checksum Redis Cluster hashes keys with. */
const table = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let bit = 0; bit < 8; bit++)
    crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  table[i] = crc;
}

const encoder = new TextEncoder();

/** The Redis Cluster slot (0 to 16383) of keys whose hash tag is `tag`. */
export function slotOfTag(tag: string): number {
  let crc = 0;
  for (const byte of encoder.encode(tag))
    crc = ((crc << 8) ^ table[((crc >> 8) ^ byte) & 0xff]!) & 0xffff;
  return crc & 16383;
}
