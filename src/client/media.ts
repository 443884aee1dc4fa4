/**
 * Puts bytes to a pre-signed upload URL, reporting progress where the platform can: browsers via
 * XMLHttpRequest's upload events; elsewhere (Node, workerd) with fetch, reporting only the end.
 */
export async function putBytes(
  url: string,
  headers: Record<string, string>,
  body: Blob,
  onProgress: (loaded: number, total: number) => void,
): Promise<void> {
  const XHR = (globalThis as { XMLHttpRequest?: new () => XhrLike }).XMLHttpRequest;
  if (XHR) {
    await new Promise<void>((resolve, reject) => {
      const xhr = new XHR();
      xhr.open("PUT", url);
      for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
      xhr.upload.onprogress = (e: { loaded: number; total: number; lengthComputable: boolean }) => onProgress(e.loaded, e.lengthComputable ? e.total : body.size);
      xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(uploadError(xhr.status, xhr.responseText)));
      xhr.onerror = () => reject(new Error("the upload failed: network error"));
      xhr.send(body);
    });
  } else {
    const res = await fetch(url, { method: "PUT", headers, body });
    const text = await res.text();
    if (!res.ok) throw uploadError(res.status, text);
  }
  onProgress(body.size, body.size);
}

/** The part of XMLHttpRequest used here (the SDK compiles without DOM types, for workerd and Node). */
interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  upload: { onprogress: ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  status: number;
  responseText: string;
  send(body: Blob): void;
}

function uploadError(status: number, text: string): Error & { status: number; code: string } {
  let code = "upload_failed";
  let message = `the upload failed (${status})`;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code) code = parsed.error.code;
    if (parsed.error?.message) message = parsed.error.message;
  } catch {
    /* S3 answers XML; keep the generic message */
  }
  return Object.assign(new Error(message), { status, code });
}
