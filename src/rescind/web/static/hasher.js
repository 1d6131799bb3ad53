// Device hashing for the public request page: hashFile(file) gives the file's MD5,
// SHA-256 and PDQ hashes (and the picture's bank views) computed in this browser, in a
// module worker, as our server computes them (rescind hash). Nothing but hashes leaves the
// page: the file is read by the worker and, for a video, decoded there with WebCodecs
// (webcodecs.js), or by a <video> element here when WebCodecs cannot decode it.

const WORKER_URL = new URL("./hasher-worker.js", import.meta.url);
const FPS = 1; // one frame per second, as the server samples
const MAX_BYTES = 2 * 1024 ** 3; // the server's MediaLimits.max_bytes
const MAX_IMAGE_BYTES = 200 * 1024 ** 2; // MediaLimits.max_image_bytes
const MAX_VIDEO_SECONDS = 3 * 3600; // the upload limit of media_signals.media_limits
const DUPLICATE_BITS = 8; // video.DUPLICATE_BITS: consecutive frames this close are one shot
const SEEK_TIMEOUT_MS = 20000;

/** An error a person's file can cause, with a message that is safe to show. */
export class HashingError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "HashingError";
    this.code = code; // "unsupported" | "heic" | "too_large" | "corrupt" | "failed"
  }
}

const HEIF_BRANDS = new Set(["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"]);
const MOV_ATOMS = new Set(["moov", "mdat", "wide", "free", "skip", "pnot"]);

/** Whether the first bytes are a HEIF picture's (HEIC; AVIF is HEIF too, but decoded). */
export function isHeic(head) {
  const text = (from, to) => String.fromCharCode(...head.subarray(from, to));
  return text(4, 8) === "ftyp" && HEIF_BRANDS.has(text(8, 12));
}

/** "image" | "video" | null from the first bytes, as the server's media/sniff.py. */
export function sniffKind(head) {
  const text = (from, to) => String.fromCharCode(...head.subarray(from, to));
  const starts = (...bytes) => bytes.every((b, i) => head[i] === b);
  if (starts(0xff, 0xd8, 0xff) || starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) {
    return "image";
  }
  if (["GIF87a", "GIF89a"].includes(text(0, 6))) return "image";
  if (text(0, 2) === "BM" && head.length >= 18) return "image";
  if (["II*\0", "MM\0*"].includes(text(0, 4))) return "image";
  if (text(0, 4) === "RIFF" && text(8, 12) === "WEBP") return "image";
  if (text(0, 4) === "RIFF" && text(8, 12) === "AVI ") return "video";
  if (starts(0x1a, 0x45, 0xdf, 0xa3)) return "video";
  if (text(4, 8) === "ftyp") {
    const brand = text(8, 12);
    return HEIF_BRANDS.has(brand) || brand === "avif" || brand === "avis" ? "image" : "video";
  }
  if (MOV_ATOMS.has(text(4, 8))) return "video";
  return null;
}

function abortError() {
  return new DOMException("hashing was cancelled", "AbortError");
}

function hammingHex(a, b) {
  let bits = 0;
  for (let i = 0; i < 64; i += 8) {
    let x = parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16);
    while (x) {
      x &= x - 1;
      bits++;
    }
  }
  return bits;
}

/** The worker, with one promise per job; terminated on abort or when done. */
class Hasher {
  constructor(signal, onProgress) {
    this.worker = new Worker(WORKER_URL, { type: "module", name: "rescind-hasher" });
    this.jobs = new Map();
    this.next = 1;
    this.onProgress = onProgress;
    this.worker.onmessage = (event) => this.receive(event.data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.failAll(new HashingError("failed", "the hashing worker could not start"));
    };
    this.signal = signal;
    this.onAbort = () => this.failAll(abortError());
    signal?.addEventListener("abort", this.onAbort);
  }

  run(type, payload, transfer = [], onStep = null) {
    if (this.closed) {
      return Promise.reject(new HashingError("failed", "the hashing worker stopped"));
    }
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject, onStep });
      this.worker.postMessage({ id, type, payload }, transfer);
    });
  }

  receive(message) {
    const job = this.jobs.get(message.job);
    if (!job) return;
    if (message.type === "progress") {
      job.onStep?.(message.done, message.total);
      return;
    }
    this.jobs.delete(message.job);
    if (message.type === "result") job.resolve(message.result);
    else job.reject(new HashingError(message.code, message.message));
  }

  failAll(error) {
    for (const job of this.jobs.values()) job.reject(error);
    this.jobs.clear();
    this.close();
  }

  close() {
    this.closed = true;
    this.worker.terminate();
    this.signal?.removeEventListener("abort", this.onAbort);
  }
}

function progressReporter(onProgress) {
  const started = performance.now();
  return (done, total) => {
    if (!onProgress) return;
    const report = { done, total };
    if (done > 0 && done < total) {
      const elapsed = (performance.now() - started) / 1000;
      report.etaSeconds = (elapsed * (total - done)) / done;
    }
    onProgress(report);
  };
}

/**
 * Hash a picture or a video on this device.
 *
 * Resolves to {kind: "image"|"video", md5, sha256, pdq: [{hash, quality, t?}],
 * views: [{hash, quality, variant}], smooth?}: pdq[0] is the picture as displayed (a video
 * gives one hash per sampled second, with its time t); views are the picture's bank views;
 * `smooth` (pictures only) says the picture is smooth (a gradient: views.js bankViews).
 * Rejects with a HashingError (unsupported, too large, undecodable), or an AbortError
 * DOMException when `signal` aborts.
 */
export async function hashFile(file, { onProgress, signal } = {}) {
  if (signal?.aborted) throw abortError();
  if (!(file instanceof Blob)) throw new TypeError("hashFile needs a File or Blob");
  if (file.size === 0) throw new HashingError("unsupported", "the file is empty");
  if (file.size > MAX_BYTES) {
    throw new HashingError("too_large", `the file is larger than ${MAX_BYTES / 1024 ** 3} GB`);
  }
  const head = new Uint8Array(await file.slice(0, 64).arrayBuffer());
  const kind = sniffKind(head);
  if (kind === null) {
    throw new HashingError("unsupported", "not a picture or video format we can hash");
  }
  if (signal?.aborted) throw abortError();
  const report = progressReporter(onProgress);
  const hasher = new Hasher(signal);
  try {
    if (kind === "image") {
      if (file.size > MAX_IMAGE_BYTES) {
        throw new HashingError("too_large", "the picture is larger than 200 MB");
      }
      let total = 1;
      let result;
      try {
        result = await hasher.run("image", file, [], (d, t) => report(d, (total = t)));
      } catch (error) {
        // Chromium (and Firefox) do not decode HEIC, the format iPhones take pictures in:
        // say so, so the page can tell the person to export the picture as JPEG.
        if (error.code === "unsupported" && isHeic(head)) {
          throw new HashingError("heic", "this browser cannot decode HEIC pictures");
        }
        throw error;
      }
      report(total, total);
      return result;
    }
    return await hashVideo(file, hasher, report, signal);
  } finally {
    hasher.close();
  }
}

function once(target, name, signal, timeoutMs = SEEK_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(null, new HashingError("corrupt", "the video stopped decoding")), timeoutMs);
    const onError = () => finish(null, new HashingError("unsupported", "this browser cannot decode this video"));
    const onAbort = () => finish(null, abortError());
    const onEvent = (event) => finish(event, null);
    function finish(event, error) {
      clearTimeout(timer);
      target.removeEventListener(name, onEvent);
      target.removeEventListener("error", onError);
      signal?.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolve(event);
    }
    target.addEventListener(name, onEvent);
    target.addEventListener("error", onError);
    signal?.addEventListener("abort", onAbort);
  });
}

/** The frame on screen once the video has settled at `time`: its media time. */
async function seekTo(video, time, signal) {
  const shown = new Promise((resolve) => {
    video.requestVideoFrameCallback((_, metadata) => resolve(metadata.mediaTime));
  });
  const seeked = once(video, "seeked", signal);
  video.currentTime = time;
  await seeked;
  return Promise.race([
    shown,
    new Promise((resolve) => setTimeout(() => resolve(null), 1000)),
  ]);
}

/** The interval between frames, from two frames presented in a row while playing. */
async function frameInterval(video, signal) {
  const times = [];
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 3000);
    const collect = (_, metadata) => {
      times.push([metadata.presentedFrames, metadata.mediaTime]);
      if (times.length >= 4 || signal?.aborted) {
        clearTimeout(timer);
        resolve();
      } else video.requestVideoFrameCallback(collect);
    };
    video.requestVideoFrameCallback(collect);
    video.play().catch(resolve);
  });
  video.pause();
  const gaps = [];
  for (let i = 1; i < times.length; i++) {
    const frames = times[i][0] - times[i - 1][0];
    const gap = times[i][1] - times[i - 1][1];
    if (frames > 0 && gap > 0) gaps.push(gap / frames);
  }
  gaps.sort((a, b) => a - b);
  return gaps.length ? gaps[gaps.length >> 1] : 1 / 30;
}

/** A video's frames and digests: through WebCodecs in the worker (webcodecs.js) when this
 * browser can decode the file's track that way, else with a <video> element here. */
async function hashVideo(file, hasher, report, signal) {
  const byteUnits = Math.ceil(file.size / (4 << 20));
  let bytesDone = 0;
  let framesDone = 0;
  let frameUnits = Math.max(1, Math.round(file.size / (1 << 20))); // until the frames are known
  const update = () => report(bytesDone + framesDone, byteUnits + frameUnits);
  const frameStep = (done, total) => {
    framesDone = done;
    frameUnits = total;
    update();
  };
  // The digests run in the worker while the frames are decoded.
  const digests = hasher.run("bytes", file, [], () => {
    bytesDone++;
    update();
  });
  digests.catch(() => {}); // awaited below; a failure of the frames is reported first
  let frames = null;
  if (_internal.videoPath !== "element") {
    try {
      frames = await hasher.run("video", { file, fps: FPS, maxSeconds: MAX_VIDEO_SECONDS }, [], frameStep);
      _internal.lastVideoPath = "webcodecs";
    } catch (error) {
      // Any other failure of this path (a file the demuxer or decoder cannot take) falls
      // back to the <video> element; cancelling and a video over the caps do not.
      if (error.name === "AbortError" || error.code === "too_large" || _internal.videoPath === "webcodecs") {
        throw error;
      }
      framesDone = 0;
    }
  }
  if (frames === null) {
    frames = await elementFrames(file, hasher, frameStep, signal);
    _internal.lastVideoPath = "element";
  }
  const { md5, sha256 } = await digests;
  frames.sort((a, b) => a.t - b.t);
  return { kind: "video", md5, sha256, pdq: collapse(frames), views: [] };
}

/** The sampled frames, seeking a <video> element to each second and hashing what it shows. */
async function elementFrames(file, hasher, frameStep, signal) {
  const url = URL.createObjectURL(file);
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.preload = "auto";
  try {
    const loaded = once(video, "loadeddata", signal);
    video.src = url;
    await loaded;
    const duration = video.duration;
    if (!Number.isFinite(duration)) {
      throw new HashingError("unsupported", "this video has no known duration");
    }
    if (duration > MAX_VIDEO_SECONDS) {
      throw new HashingError("too_large", `the video is longer than ${MAX_VIDEO_SECONDS / 3600} hours`);
    }
    if (!video.videoWidth || !video.videoHeight) {
      throw new HashingError("unsupported", "this file has no picture to hash");
    }
    const interval = await frameInterval(video, signal);
    const tolerance = Math.min(interval / 2, 0.5 / FPS);
    // A sample for each second k up to the last frame (at about duration - interval).
    const samples = Math.floor((duration - interval + tolerance) * FPS) + 1;
    let done = 0;
    const step = () => frameStep(++done, samples);
    const pending = [];
    let last = null;
    for (let k = 0; k < samples; k++) {
      if (signal?.aborted) throw abortError();
      // The server samples the first frame at or after k/FPS - tolerance; a seek shows the
      // last frame at or before the time asked: ask for one frame interval later, less a hair.
      const target = Math.min(k / FPS - tolerance + interval * 0.999, duration);
      const t = await seekTo(video, Math.max(0, target), signal);
      if (t !== null && last !== null && t <= last + 1e-6) {
        step();
        continue; // this frame already served the previous sample
      }
      last = t;
      const frame = new VideoFrame(video, { timestamp: Math.round((t ?? target) * 1e6) });
      pending.push(hasher.run("frame", { frame, t: Math.round((t ?? target) * 1000) / 1000 }, [frame]).then((h) => (step(), h)));
    }
    return await Promise.all(pending);
  } finally {
    video.removeAttribute("src");
    video.load();
    URL.revokeObjectURL(url);
  }
}

// video.collapse_duplicates: consecutive near-identical frames are kept once (the first).
function collapse(frames) {
  const out = [];
  for (const frame of frames) {
    if (out.length && hammingHex(out[out.length - 1].hash, frame.hash) <= DUPLICATE_BITS) continue;
    out.push(frame);
  }
  return out;
}

// For tests and the benchmark: `videoPath` forces "element" or "webcodecs" (default: WebCodecs
// with the <video> element as fallback); `lastVideoPath` says which path hashed the last video.
export const _internal = { collapse, sniffKind, videoPath: null, lastVideoPath: null };
