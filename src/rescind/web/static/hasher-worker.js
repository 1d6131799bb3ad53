// The hashing worker (a module worker started by hasher.js): decodes pictures, hashes
// pixels and bytes. Nothing leaves it but hashes, posted back to the page.

import { Md5, Sha256, toHex } from "./digests.js";
import { hashVideoFrame } from "./frames.js";
import { flipBuffers, hashBuffer, lumaFromRgba, pdqOfLuma } from "./pdq.js";
import { bankViews } from "./views.js";
import { Fallback, webCodecsFrames } from "./webcodecs.js";

const CHUNK = 4 << 20; // bytes read at a time for the digests
const WEBCRYPTO_MAX = 256 << 20; // above this, SHA-256 streams here instead of in one piece

class HashError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
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
    throw new HashError("unsupported", "this browser cannot decode this picture");
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  return { rgba, width, height };
}

async function hashImage(file, progress) {
  // Units of progress: the bytes read, then as much again for the pixels.
  const total = 2 * file.size;
  let done = 0;
  const digested = digests(file, (n) => progress((done += n), total));
  const { rgba, width, height } = await decodePicture(file);
  const luma = lumaFromRgba(rgba, width, height);
  // A picture over 256 px a side is filtered once for its own hash and its 7 orientations.
  const flips = flipBuffers(luma, width, height);
  const first = flips ? hashBuffer(flips(false, false)) : pdqOfLuma(luma, width, height);
  progress((done += file.size / 4), total);
  const { views, smooth } = bankViews(luma, width, height, first, flips);
  progress((done += (3 * file.size) / 4), total);
  const { md5, sha256 } = await digested;
  return { kind: "image", md5, sha256, pdq: [first], views, smooth };
}

async function hashBytes(file, progress) {
  let done = 0;
  return digests(file, (n) => progress((done += n), file.size));
}

async function hashFrame({ frame, t }) {
  return { ...(await hashVideoFrame(frame)), t };
}

/** A video's sampled frames through WebCodecs; a "fallback" error when this path cannot. */
async function hashVideoTrack({ file, fps, maxSeconds }, progress) {
  try {
    return await webCodecsFrames(
      file,
      fps,
      (_, chosen) => {
        if (chosen.duration > maxSeconds) {
          throw new HashError("too_large", `the video is longer than ${maxSeconds / 3600} hours`);
        }
      },
      progress,
    );
  } catch (error) {
    if (error instanceof Fallback) throw new HashError("fallback", error.message);
    throw error;
  }
}

const handlers = { image: hashImage, bytes: hashBytes, frame: hashFrame, video: hashVideoTrack };

onmessage = async (event) => {
  const { id, type, payload } = event.data;
  const progress = (done, total) => postMessage({ type: "progress", job: id, done, total });
  try {
    const result = await handlers[type](payload, progress);
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
