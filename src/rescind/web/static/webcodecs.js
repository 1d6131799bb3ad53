// The WebCodecs path for video (run in the hashing worker): the file's video track is demuxed
// here (demux.js), the frames the server samples are chosen from the samples' timestamps as
// media/video.py chooses them (select_samples, _plan), and only the packets those frames
// depend on go to a VideoDecoder: nothing of a GOP (a keyframe and what follows it) without a
// sampled frame, and a GOP's packets only up to its last sampled one. Every other frame is
// closed as it comes out; sampled ones are hashed as the <video> path hashes them (frames.js).
// Anything unexpected is a `Fallback`: hasher.js then decodes with a <video> element.

import { demux, readSamples, Unsupported } from "./demux.js";
import { hashVideoFrame } from "./frames.js";

export class Fallback extends Error {
  constructor(message) {
    super(message);
    this.name = "Fallback";
  }
}

const QUEUE = 12; // chunks waiting in the decoder at most

/** media/video.select_samples: indices (into ascending `times`) of the frames sampled at
 * `fps`: for each k, the first frame at or after k / fps, less half the median frame gap. */
export function selectSamples(times, fps) {
  if (!times.length) return [];
  const gaps = [];
  for (let i = 1; i < times.length; i++) {
    const gap = times[i] - times[i - 1];
    if (gap > 0) gaps.push(gap);
  }
  gaps.sort((a, b) => a - b);
  const n = gaps.length;
  const median = n ? (n % 2 ? gaps[n >> 1] : (gaps[n / 2 - 1] + gaps[n / 2]) / 2) : 0;
  const tolerance = Math.min(median / 2, 0.5 / fps);
  const chosen = [];
  let next = 0;
  times.forEach((t, i) => {
    if (t >= next / fps - tolerance) {
      chosen.push(i);
      next = Math.floor((t + tolerance) * fps) + 1;
    }
  });
  return chosen;
}

/** media/video._plan: which samples (in decode order) to send, and the sampled ones' times. */
export function plan(samples, timescale, fps) {
  const order = samples.map((_, i) => i).sort((a, b) => samples[a].pts - samples[b].pts);
  const start = samples[order[0]].pts;
  const times = order.map((i) => (samples[i].pts - start) / timescale);
  const chosen = selectSamples(times, fps).map((j) => order[j]);
  const gop = [];
  const starts = [];
  samples.forEach((s, i) => {
    if (s.key || !starts.length) starts.push(i);
    gop.push(starts.length - 1);
  });
  const last = new Array(starts.length).fill(-1);
  for (const i of chosen) last[gop[i]] = Math.max(last[gop[i]], i);
  for (const i of chosen) {
    const g = gop[i];
    // Open GOPs: a picture shown before its keyframe may use the previous GOP's frames.
    if (g > 0 && samples[i].pts < samples[starts[g]].pts) last[g - 1] = starts[g] - 1;
  }
  const wanted = new Map(chosen.map((i) => [samples[i].pts, (samples[i].pts - start) / timescale]));
  const runs = []; // [first, last] index ranges to send, one per GOP
  starts.forEach((first, g) => {
    if (last[g] >= first) runs.push([first, last[g]]);
  });
  return { wanted, runs, duration: times[times.length - 1] };
}

const micros = (pts, timescale) => Math.round((pts * 1e6) / timescale);

/** The sampled frames' {hash, quality, t}, decoded with WebCodecs; `onPlan(track, plan)`
 * may refuse (too long) by throwing; `progress(done, total)` per frame hashed. */
export async function webCodecsFrames(file, fps, onPlan, progress) {
  if (typeof VideoDecoder === "undefined") throw new Fallback("no WebCodecs here");
  let track;
  try {
    track = await demux(file);
  } catch (error) {
    throw error instanceof Unsupported ? new Fallback(error.message) : error;
  }
  if (!track.samples.length) throw new Fallback("no video samples");
  if (!track.samples[0].key) throw new Fallback("the first sample is not a keyframe");
  const chosen = plan(track.samples, track.timescale, fps);
  onPlan(track, chosen);
  const config = {
    codec: track.codec,
    codedWidth: track.width || undefined,
    codedHeight: track.height || undefined,
  };
  if (track.description) config.description = track.description;
  let support;
  try {
    support = await VideoDecoder.isConfigSupported(config);
  } catch (error) {
    throw new Fallback(`the decoder refused the configuration: ${error.message}`);
  }
  if (!support.supported) throw new Fallback(`${track.codec} cannot be decoded here`);

  const byMicros = new Map();
  for (const [pts, t] of chosen.wanted) byMicros.set(micros(pts, track.timescale), t);
  const total = byMicros.size;
  const hashed = [];
  let done = 0;
  let failure = null;
  const decoder = new VideoDecoder({
    output: (frame) => {
      const t = byMicros.get(frame.timestamp);
      if (t === undefined) {
        frame.close(); // not sampled: released at once
        return;
      }
      byMicros.delete(frame.timestamp);
      hashed.push(
        hashVideoFrame(frame, track.rotation / 90).then((h) => {
          progress(++done, total);
          return { ...h, t: Math.round(t * 1000) / 1000 };
        }),
      );
    },
    error: (error) => {
      failure = error;
    },
  });
  try {
    decoder.configure(config);
    for (const [first, last] of chosen.runs) {
      const samples = track.samples.slice(first, last + 1);
      const data = await readSamples(file, samples);
      for (let k = 0; k < samples.length; k++) {
        if (failure) throw failure;
        while (decoder.decodeQueueSize > QUEUE) {
          await new Promise((resolve) => decoder.addEventListener("dequeue", resolve, { once: true }));
        }
        decoder.decode(
          new EncodedVideoChunk({
            type: samples[k].key ? "key" : "delta",
            timestamp: micros(samples[k].pts, track.timescale),
            data: data[k],
          }),
        );
      }
    }
    await decoder.flush();
    if (failure) throw failure;
  } catch (error) {
    throw new Fallback(`decoding failed: ${error.message || error}`);
  } finally {
    if (decoder.state !== "closed") decoder.close();
  }
  const frames = await Promise.all(hashed);
  if (byMicros.size) throw new Fallback(`${byMicros.size} sampled frames did not come out`);
  return frames;
}
