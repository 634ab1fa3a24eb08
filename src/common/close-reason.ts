/** A WebSocket close frame's reason holds at most 123 bytes of UTF-8; `ws` throws on more. */
const MAX_CLOSE_REASON_BYTES = 123;

/**
 * `text` cut to fit a close frame, on a character boundary. Reasons built from what a peer sent (a parse error
 * quoting its input, say) can hold multi-byte characters, so a cut by characters is not enough: a reason over the
 * limit made `ws.close` throw inside a message listener and took the whole process down.
 */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= MAX_CLOSE_REASON_BYTES) return text;
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (bytes + size > MAX_CLOSE_REASON_BYTES) break;
    bytes += size;
    end += ch.length;
  }
  return text.slice(0, end);
}
