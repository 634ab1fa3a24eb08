/**
 * The glasses' side of the photo flow: the device uploads straight to the
 * app's webhook, the cloud never sees the bytes.
 */

/**
 * An 8×8 grey baseline JPEG (159 bytes), hand-assembled so the package needs no image
 * library: one DC-only block whose two Huffman codes are a single bit each.
 */
export const TINY_JPEG: Buffer = Buffer.from(
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/wAALCAAIAAgBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AP//Z',
  'base64',
);

export interface PhotoUploadInput {
  webhookUrl: string;
  requestId: string;
  jpeg: Buffer;
  authToken?: string;
  signal?: AbortSignal;
}

export interface PhotoUploadResult {
  requestId: string;
  webhookUrl: string;
  ok: boolean;
  /** HTTP status, or 0 when the request never got an answer. */
  status: number;
  /** Response body as text, or the network error message. */
  body: string;
}

export async function uploadPhoto(input: PhotoUploadInput): Promise<PhotoUploadResult> {
  const form = new FormData();
  // Copy into a plain Uint8Array: Buffer's pooled ArrayBufferLike is not a valid BlobPart type.
  form.append('photo', new Blob([new Uint8Array(input.jpeg)], { type: 'image/jpeg' }), 'photo.jpg');
  form.append('requestId', input.requestId);
  form.append('type', 'photo_upload');
  const headers: Record<string, string> = {};
  if (input.authToken) headers.Authorization = `Bearer ${input.authToken}`;
  const base = { requestId: input.requestId, webhookUrl: input.webhookUrl };
  try {
    const res = await fetch(input.webhookUrl, {
      method: 'POST',
      body: form,
      headers,
      signal: input.signal,
    });
    const body = await res.text();
    return { ...base, ok: res.ok, status: res.status, body };
  } catch (err) {
    return { ...base, ok: false, status: 0, body: err instanceof Error ? err.message : String(err) };
  }
}
