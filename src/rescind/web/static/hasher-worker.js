// The hashing worker (a module worker started by hasher.js): decodes pictures, hashes
// pixels and bytes. Nothing leaves it but hashes, posted back to the page.

import { Md5, Sha256, toHex } from "./digests.js";
import { lumaFromRgba, pdqOfLuma } from "./pdq.js";
import { bankViews } from "./views.js";
import { frameLuma } from "./frames.js";

const CHUNK = 4 << 20; // bytes read at a time for the digests
const WEBCRYPTO_MAX = 256 << 20; // above this, SHA-256 streams here instead of in one piece

let jobs = 0; // the current job's number: progress is posted with it
let frameScratch = null;

function progress(done, total) {
  postMessage({ type: "progress", job: jobs, done, total });
}

/** MD5 and SHA-256 of a whole Blob, read in chunks; `step(bytes)` after each chunk. */
async function digests(blob, step) {
  const md5 = new Md5();
  const streaming = blob.size > WEBCRYPTO_MAX ? new Sha256() : null;
  const whole = streaming ? null : new Uint8Array(blob.size);
  for (let at = 0; at < blob.size; at += CHUNK) {
    const chunk = new Uint8Array(await blob.slice(at, at + CHUNK).arrayBuffer());
    md5.update(chunk);
    if (streaming) streaming.update(chunk);
    else whole.set(chunk, at);
    step(chunk.length);
  }
  const sha256 = streaming
    ? streaming.finish()
    : toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", whole)));
  return { md5: md5.finish(), sha256 };
}

/** RGBA pixels of a picture as displayed (EXIF orientation applied, ICC ignored). */
async function decodePicture(blob) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, {
      imageOrientation: "from-image",
      colorSpaceConversion: "none",
      premultiplyAlpha: "none",
    });
  } catch {
    throw new HashError("unsupported", "this picture cannot be decoded by this browser");
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  return { rgba, width, height };
}

class HashError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

async function hashImage(file) {
  // Units of progress: the bytes read, then as much again for the pixels.
  const total = 2 * file.size + 1;
  let done = 0;
  const digested = digests(file, (n) => progress((done += n), total));
  const { rgba, width, height } = await decodePicture(file);
  const luma = lumaFromRgba(rgba, width, height);
  const first = pdqOfLuma(luma, width, height);
  progress((done += file.size / 2), total);
  const views = bankViews(luma, width, height, first);
  progress((done += file.size / 2), total);
  const { md5, sha256 } = await digested;
  return { kind: "image", md5, sha256, pdq: [first], views };
}

async function hashBytes(file) {
  let done = 0;
  return digests(file, (n) => progress((done += n), file.size));
}

function hashFrame({ frame, bitmap, t }) {
  // A video frame: the luma plane as decoded (I420/NV12) when the frame exposes it, as the
  // server hashes, else the luma of its RGB drawing.
  const { luma, width, height } = frameLuma(frame, bitmap);
  const hash = pdqOfLuma(luma, width, height, frameScratch);
  frameScratch = null;
  return { ...hash, t };
}

const handlers = { image: hashImage, bytes: hashBytes, frame: hashFrame };

onmessage = async (event) => {
  const { id, type, payload } = event.data;
  jobs = id;
  try {
    const result = await handlers[type](payload);
    postMessage({ type: "result", job: id, result });
  } catch (error) {
    postMessage({
      type: "error",
      job: id,
      code: error.code || "failed",
      message: String(error.message || error),
    });
  }
};
