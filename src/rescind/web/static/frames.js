// The luma of a video frame as the server hashes it (media/video.py): the decoded Y plane
// as stored, stretched from video range (16-235) after filtering; or, when the browser
// gives no planes (a GPU frame, a turned frame), the luma of the frame drawn as RGB.

import { jarosz64, hashBuffer, lumaFromRgba, MIN_HASHABLE_DIM } from "./pdq.js";

const YUV = new Set(["I420", "I420A", "I422", "I422A", "I444", "I444A", "NV12"]);
const f32 = Math.fround;
const STRETCH = f32(255.0 / 219.0);

function planeLuma(frame) {
  const { width, height } = frame.visibleRect;
  // copyTo writes every plane; plane 0 is the luma.
  const buffer = new Uint8Array(frame.allocationSize());
  return frame.copyTo(buffer).then((layout) => {
    const { offset, stride } = layout[0];
    const luma = new Float32Array(width * height);
    for (let r = 0; r < height; r++) {
      const row = offset + r * stride;
      for (let c = 0; c < width; c++) luma[r * width + c] = buffer[row + c];
    }
    const limited = !(frame.colorSpace && frame.colorSpace.fullRange);
    return { luma, width, height, limited };
  });
}

function drawnLuma(frame) {
  const width = frame.displayWidth;
  const height = frame.displayHeight;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(frame, 0, 0, width, height);
  const rgba = context.getImageData(0, 0, width, height).data;
  return { luma: lumaFromRgba(rgba, width, height), width, height, limited: false };
}

/** The luma turned clockwise by `turns` quarter turns, as the server turns a frame a display
 * matrix turns (np.rot90 of the luma plane). */
function turnedLuma({ luma, width, height, limited }, turns) {
  if (turns === 2) {
    const out = new Float32Array(width * height);
    for (let i = 0; i < out.length; i++) out[i] = luma[out.length - 1 - i];
    return { luma: out, width, height, limited };
  }
  const out = new Float32Array(width * height);
  for (let r = 0; r < width; r++) {
    for (let c = 0; c < height; c++) {
      // One clockwise turn: out[r][c] = in[h-1-c][r]; three: out[r][c] = in[c][w-1-r].
      out[r * height + c] =
        turns === 1 ? luma[(height - 1 - c) * width + r] : luma[c * width + (width - 1 - r)];
    }
  }
  return { luma: out, width: height, height: width, limited };
}

/** {hash, quality} of a VideoFrame (closed here); `turns`: clockwise quarter turns the
 * container asks a player to give the picture (a frame decoded from its track carries none). */
export async function hashVideoFrame(frame, turns = 0) {
  try {
    const turned = (frame.rotation || 0) !== 0 || frame.flip === true;
    let plane =
      YUV.has(frame.format) && !turned ? await planeLuma(frame) : drawnLuma(frame);
    if (turns % 4) plane = turnedLuma(plane, turns % 4);
    const { luma, width, height, limited } = plane;
    if (width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM) {
      return { hash: "0".repeat(64), quality: 0 };
    }
    const buffer = jarosz64(luma, width, height);
    if (limited) {
      for (let i = 0; i < buffer.length; i++) buffer[i] = f32(f32(buffer[i] - 16) * STRETCH);
    }
    return hashBuffer(buffer);
  } finally {
    frame.close();
  }
}
