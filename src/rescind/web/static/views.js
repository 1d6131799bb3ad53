// The bank views of a picture, computed on the device: the port of our server's
// rescind/media/robust.py bank_signals and robust_geometry.py, on the grey copy that
// rescind/platform/media_signals.py banks from (luma rounded to 8 bits, shrunk to at most
// 512 px with a box filter). Same variant names, same pixels, same float rounding, and
// hashed on the server's banded filter (pdq.js bandedPdqOfLuma): on the same luma, the
// server's bits. The server banks from a JPEG decoded at full size, as the browser decodes
// it. The picture's 7 other orientations are hashed at full size as `rescind hash
// --dihedral` turns them (pixels flipped, pdqhash's filter; a transpose transposes the
// 64x64 buffer).

import {
  banded64,
  bandedPdqOfLuma,
  flipBuffers,
  hashBuffer,
  jarosz64,
  MIN_HASHABLE_DIM,
  smoothBuffer,
} from "./pdq.js";

const MIN_SIDE = 16; // the server's robust_geometry.MIN_SIDE
const WORK_SIDE = 512;
const TRIM_SIDE = 256;
const FLAT_TOLERANCE = 3;
const JPEG_TOLERANCE = 10;
const BAR_TOLERANCE = 16;
const FLAT_SHARE = 0.9;
const BAR_SHARE = 0.5;
const MAX_TRIM = 0.9;
const MIN_QUALITY = 50;
const MIN_ASPECT_CUT = 0.03; // robust.MIN_ASPECT_CUT: aspect crops that cut less are left out
const WHOLE_VIEWS = new Set(["full", "trimmed", "trimmed_jpeg"]);
const f32 = Math.fround;

// Python's round(): halves to even.
function pyRound(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function centreCrop(keep) {
  const cut = (1 - keep) / 2;
  return { name: `crop_c${pyRound(keep * 100)}`, left: cut, top: cut, right: cut, bottom: cut };
}

function oneSideCrop(side, fraction) {
  const cut = (s) => (s === side ? fraction : 0);
  return {
    name: `crop_${side}${pyRound(fraction * 100)}`,
    left: cut("l"),
    top: cut("t"),
    right: cut("r"),
    bottom: cut("b"),
  };
}

function variant(name, fields) {
  return {
    name,
    left: 0,
    top: 0,
    right: 0,
    bottom: 0,
    tilt: 0,
    aspect: 0,
    frame: 0,
    strip: 0,
    canvas: 0,
    shift: 0,
    fill: 0,
    ...fields,
  };
}

/** robust_geometry.Variant.framed: something is added around the picture. */
function isFramed(v) {
  return Boolean(v.frame || v.strip || v.canvas);
}

/** robust_geometry.aspect_crop: the largest centred crop of width:height. */
function aspectCrop(width, height) {
  return variant(`aspect_${width}x${height}`, { aspect: width / height });
}

/** robust_geometry.corner_crop: `fraction` cut off the two sides of a corner. */
function cornerCrop(corner, fraction) {
  return variant(`crop_${corner}${pyRound(fraction * 100)}`, {
    top: corner[0] === "t" ? fraction : 0,
    bottom: corner[0] === "b" ? fraction : 0,
    left: corner[1] === "l" ? fraction : 0,
    right: corner[1] === "r" ? fraction : 0,
  });
}

/** robust_geometry.straightened: turned and cut to the upright rectangle inside. */
function straightened(degrees) {
  return variant(`tiltcrop${degrees > 0 ? "+" : ""}${degrees}`, { tilt: degrees, inscribed: true });
}

/** robust.BANK_VARIANTS, in the server's order. */
export const BANK_VARIANTS = [
  ...[0.96, 0.92, 0.88, 0.84, 0.8, 0.76].map(centreCrop),
  ..."ltrb"
    .split("")
    .flatMap((side) => [0.02, 0.04, 0.06, 0.08, 0.1, 0.12].map((f) => oneSideCrop(side, f))),
  ...[-6, -5, -4, -3, -2, 2, 3, 4, 5, 6].map((deg) => ({
    name: `tilt${deg > 0 ? "+" : ""}${deg}`,
    left: 0,
    top: 0,
    right: 0,
    bottom: 0,
    tilt: deg,
  })),
];

/** robust.ASPECT_VARIANTS */
export const ASPECT_VARIANTS = [
  [1, 1],
  [4, 5],
  [9, 16],
  [16, 9],
].map(([w, h]) => aspectCrop(w, h));

/** robust.CORNER_VARIANTS */
export const CORNER_VARIANTS = ["tl", "tr", "bl", "br"].flatMap((c) =>
  [0.02, 0.04, 0.06, 0.08, 0.1].map((f) => cornerCrop(c, f)),
);

/** robust.STRAIGHTENED_VARIANTS */
export const STRAIGHTENED_VARIANTS = [-6, -5, -4, -3, -2, 2, 3, 4, 5, 6].map(straightened);

/** robust.MIRRORED_VARIANTS: aspect, centre and one-sided crops, mirrored last. */
export const MIRRORED_VARIANTS = [
  ...ASPECT_VARIANTS,
  ...[0.96, 0.92, 0.88, 0.84].map(centreCrop),
  ..."ltrb".split("").flatMap((side) => [0.04, 0.08].map((f) => oneSideCrop(side, f))),
].map((v) => ({ ...v, name: `${v.name}/flip_h`, mirror: true }));

/** robust.HALF_VARIANTS */
export const HALF_VARIANTS = [
  variant("half_t", { bottom: 0.5 }),
  variant("half_b", { top: 0.5 }),
  variant("half_l", { right: 0.5 }),
  variant("half_r", { left: 0.5 }),
];

/** robust_geometry.frame: a border of `share` of the longer side on all sides. */
function frame(share, fill) {
  const colour = fill === 0 ? "black" : fill === 255 ? "white" : "grey";
  return variant(`frame_${colour}${pyRound(share * 100)}`, { frame: share, fill });
}

/** robust_geometry.strip: a strip of `share` of the height added above or below. */
function strip(share, top) {
  return variant(`strip_${top ? "t" : "b"}${pyRound(share * 100)}`, {
    strip: top ? share : -share,
  });
}

/** robust_geometry.canvas: centred on a width:height canvas, moved down by `shift`. */
function canvas(width, height, shift = 0) {
  const up = pyRound(shift * 100);
  const moved = shift ? `${up > 0 ? "+" : ""}${up}` : "";
  return variant(`canvas_${width}x${height}${moved}`, { canvas: width / height, shift });
}

/** robust.FRAME_WIDTHS */
const FRAME_WIDTHS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16];

/** robust.GRID_CUTS */
const GRID_CUTS = [0.05, 0.07];

/** robust.GRID_VARIANTS: 5 or 7% off each side, all 16 combinations, in product()'s order. */
export const GRID_VARIANTS = GRID_CUTS.flatMap((l) =>
  GRID_CUTS.flatMap((t) =>
    GRID_CUTS.flatMap((r) =>
      GRID_CUTS.map((b) =>
        variant(`grid_${[l, t, r, b].map((c) => pyRound(c * 100)).join("")}`, {
          left: l,
          top: t,
          right: r,
          bottom: b,
        }),
      ),
    ),
  ),
);

/** robust.FRAMED_VARIANTS */
export const FRAMED_VARIANTS = [
  ...[0, 255].flatMap((fill) => FRAME_WIDTHS.map((w) => frame(w / 100, fill))),
  ...[
    [16, 9],
    [9, 16],
    [1, 1],
    [4, 5],
  ].map(([w, h]) => canvas(w, h)),
  ...[1, 2, 3].map((up) => canvas(9, 16, -up / 100)),
  ...[0, 1, 2, 3].map((up) => ({
    ...canvas(9, 16, -up / 100),
    name: `canvas_9x16${up ? -up : ""}_4x5`,
    aspect: 0.8,
  })),
  ...[true, false].flatMap((top) => [10, 12, 14, 16, 18, 20].map((h) => strip(h / 100, top))),
];

/** Every family bank_signals renders, in its order. */
const ALL_VARIANTS = [
  ...BANK_VARIANTS,
  ...ASPECT_VARIANTS,
  ...CORNER_VARIANTS,
  ...STRAIGHTENED_VARIANTS,
  ...HALF_VARIANTS,
  ...MIRRORED_VARIANTS,
  ...GRID_VARIANTS,
  ...FRAMED_VARIANTS,
];

/** robust_geometry.aspect_cut: the share of its longer-cut side an aspect crop removes. */
function aspectCut(height, width, aspect) {
  return Math.max(0, 1 - (height * aspect) / width, 1 - width / (height * aspect));
}

/** A grey 8-bit image: {pixels: Uint8Array, width, height}. */
function grey(pixels, width, height) {
  return { pixels, width, height };
}

/** The float luma rounded to 8 bits as the server does (clip, then numpy's half-to-even). */
export function roundLuma(luma, width, height) {
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) {
    const v = luma[i] < 0 ? 0 : luma[i] > 255 ? 255 : luma[i];
    let r = (v + 0.5) | 0;
    if (r - v === 0.5 && r & 1) r -= 1;
    out[i] = r;
  }
  return grey(out, width, height);
}

// Box-filter resampling of 8-bit pixels along one axis, as Pillow's resize(BOX) does it:
// each output averages the inputs whose centres fall in its box, with 22-bit fixed-point
// weights and rounding.
const PRECISION = 22;

function boxCoefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 0.5 * filterScale;
  const inverse = 1.0 / filterScale; // Pillow multiplies by it: dividing can round across 0.5
  const bounds = new Int32Array(outSize * 2);
  const weights = [];
  for (let xx = 0; xx < outSize; xx++) {
    const centre = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(centre - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(centre + support + 0.5), inSize) - xmin;
    const k = new Float64Array(xmax);
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const at = (x + xmin - centre + 0.5) * inverse;
      k[x] = at > -0.5 && at <= 0.5 ? 1 : 0;
      total += k[x];
    }
    const fixed = new Int32Array(xmax);
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? k[x] / total : k[x];
      fixed[x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION) : 0.5 + w * (1 << PRECISION));
    }
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
    weights.push(fixed);
  }
  return { bounds, weights };
}

function clip8(sum) {
  const v = sum >> PRECISION;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function resizeAcross(image, outWidth) {
  const { pixels, width, height } = image;
  const { bounds, weights } = boxCoefficients(width, outWidth);
  const out = new Uint8Array(outWidth * height);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[2 * xx];
      const k = weights[xx];
      let sum = 1 << (PRECISION - 1);
      for (let x = 0; x < k.length; x++) sum += pixels[row + xmin + x] * k[x];
      out[y * outWidth + xx] = clip8(sum);
    }
  }
  return grey(out, outWidth, height);
}

function resizeDown(image, outHeight) {
  const { pixels, width, height } = image;
  const { bounds, weights } = boxCoefficients(height, outHeight);
  const out = new Uint8Array(width * outHeight);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[2 * yy];
    const k = weights[yy];
    for (let x = 0; x < width; x++) {
      let sum = 1 << (PRECISION - 1);
      for (let y = 0; y < k.length; y++) sum += pixels[(ymin + y) * width + x] * k[y];
      out[yy * width + x] = clip8(sum);
    }
  }
  return grey(out, width, outHeight);
}

function resizeBox(image, outWidth, outHeight) {
  const across = (im) => (outWidth !== im.width ? resizeAcross(im, outWidth) : im);
  const down = (im) => (outHeight !== im.height ? resizeDown(im, outHeight) : im);
  // Each pass rounds to 8 bits, so the order shows: Pillow 13 (ImagingResampleInner) runs
  // the vertical pass first when the height shrinks by more than twice the width does.
  const rowsLost = image.height - outHeight;
  const verticalFirst = rowsLost > 0 && rowsLost > (image.width - outWidth) * 2;
  return verticalFirst ? across(down(image)) : down(across(image));
}

/** robust_geometry._shrink: the image box-filtered so its longest side is at most `side`. */
function shrink(image, side) {
  const scale = side / Math.max(image.width, image.height);
  if (scale >= 1) return image;
  const width = Math.max(MIN_SIDE, pyRound(image.width * scale));
  const height = Math.max(MIN_SIDE, pyRound(image.height * scale));
  return resizeBox(image, width, height);
}

// Rows (of `get(row, col)`, `rows` x `cols`) at the start that belong to flat bars: the
// server's _leading_border on one grey channel.
function leadingBorder(get, rows, cols, tolerance) {
  const limit = Math.trunc(rows * MAX_TRIM) + 1;
  const barTolerance = Math.max(tolerance, BAR_TOLERANCE);
  const line = new Float64Array(cols);
  let done = 0;
  while (done < Math.min(rows, limit)) {
    for (let c = 0; c < cols; c++) line[c] = get(done, c);
    const sorted = Float64Array.from(line).sort();
    const mid = cols >> 1;
    const colour = cols % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    let flatCount = 0;
    for (let c = 0; c < cols; c++) if (Math.abs(line[c] - colour) <= tolerance) flatCount++;
    if (flatCount / cols < FLAT_SHARE) break;
    let lastFlat = -1;
    for (let r = done; r < Math.min(rows, limit); r++) {
      let near = 0;
      for (let c = 0; c < cols; c++) if (Math.abs(get(r, c) - colour) <= barTolerance) near++;
      const share = near / cols;
      if (share < BAR_SHARE) break;
      if (share >= FLAT_SHARE) lastFlat = r - done;
    }
    done += lastFlat + 1;
  }
  return done;
}

function borderRows(get, rows, cols, tolerance) {
  const lead = leadingBorder(get, rows, cols, tolerance);
  const trail = leadingBorder((r, c) => get(rows - 1 - r, c), rows - lead, cols, tolerance);
  return [lead, trail];
}

function trimBoxExact(image, tolerance) {
  const { pixels, width, height } = image;
  const at = (r, c) => pixels[r * width + c];
  let [top, bottom] = borderRows(at, height, width, tolerance);
  if (top + bottom > MAX_TRIM * height) return null;
  const innerRows = height - top - bottom;
  // Columns of the rows left, as rows.
  const columns = (r, c) => at(top + c, r);
  const [left, right] = borderRows(columns, width, innerRows, tolerance);
  if (left + right > MAX_TRIM * width) return null;
  const inner = (r, c) => at(top + r, left + c);
  const [moreTop, moreBottom] = borderRows(inner, innerRows, width - left - right, tolerance);
  top += moreTop;
  bottom += moreBottom;
  if (top + bottom + left + right === 0) return null;
  if (top + bottom > MAX_TRIM * height || left + right > MAX_TRIM * width) return null;
  if (height - top - bottom < MIN_SIDE || width - left - right < MIN_SIDE) return null;
  return [top, height - bottom, left, width - right];
}

/** robust_geometry.trim_box: (top, bottom, left, right) without flat borders, or null. */
function trimBox(image, tolerance, small) {
  const box = trimBoxExact(small, tolerance);
  if (box === null || small === image) return box;
  const sy = image.height / small.height;
  const sx = image.width / small.width;
  const [top, bottom, left, right] = box;
  return [pyRound(top * sy), pyRound(bottom * sy), pyRound(left * sx), pyRound(right * sx)];
}

/** A float32 luma image: {luma, width, height}. */
function greyLuma(image) {
  // pdqhash's luma of a grey pixel: the RGB formula with r = g = b, in double.
  const out = new Float32Array(image.width * image.height);
  for (let i = 0; i < out.length; i++) {
    const g = image.pixels[i];
    out[i] = g * 0.299 + g * 0.587 + g * 0.114;
  }
  return { luma: out, width: image.width, height: image.height };
}

function cropLuma(view, top, bottom, left, right) {
  const width = right - left;
  const height = bottom - top;
  const out = new Float32Array(width * height);
  for (let r = 0; r < height; r++) {
    const from = (top + r) * view.width + left;
    out.set(view.luma.subarray(from, from + width), r * width);
  }
  return { luma: out, width, height };
}

function cropGrey(image, [top, bottom, left, right]) {
  const width = right - left;
  const out = new Uint8Array(width * (bottom - top));
  for (let r = top; r < bottom; r++) {
    out.set(image.pixels.subarray(r * image.width + left, r * image.width + right), (r - top) * width);
  }
  return grey(out, width, bottom - top);
}

// Pillow's rotate(degrees, BICUBIC, fillcolor=0) of a float ("F") image, same canvas:
// each output pixel centre mapped back by the inverse rotation about the image centre, a
// cubic (a = -1) through 4x4 neighbours with edges clamped, 0 outside the picture.
function rotate(view, degrees) {
  const { luma, width, height } = view;
  // Image.rotate's matrix, step for step: the angle taken modulo 360 (-6 is 354), then
  // math.radians (times pi / 180), each entry rounded to 15 decimals (toFixed rounds the
  // exact value, as Python's round does).
  const angle = -((((degrees % 360) + 360) % 360) * (Math.PI / 180));
  const round15 = (x) => Number.parseFloat(x.toFixed(15));
  const a = round15(Math.cos(angle));
  const b = round15(Math.sin(angle));
  const d = round15(-Math.sin(angle));
  const e = a;
  const cx = width / 2;
  const cy = height / 2;
  const c = a * -cx + b * -cy + cx;
  const f = d * -cx + e * -cy + cy;
  const out = new Float32Array(width * height);
  const cubic = (v1, v2, v3, v4, t) => {
    const p2 = -v1 + v3;
    const p3 = 2 * (v1 - v2) + v3 - v4;
    const p4 = -v1 + v2 - v3 + v4;
    return v2 + t * (p2 + t * (p3 + t * p4));
  };
  const clampX = (x) => (x < 0 ? 0 : x >= width ? width - 1 : x);
  // Along a row Pillow's BICUBIC macro is handed float pixels, so C works out its
  // coefficients in float32 (then the cubic in double); down the column, in double.
  const rowAt = (y, x0, x1, x2, x3, dx) => {
    const base = y * width;
    const v1 = luma[base + x0];
    const v2 = luma[base + x1];
    const v3 = luma[base + x2];
    const v4 = luma[base + x3];
    const p2 = f32(-v1 + v3);
    const p3 = f32(f32(f32(2 * f32(v1 - v2)) + v3) - v4);
    const p4 = f32(f32(f32(-v1 + v2) - v3) + v4);
    return v2 + dx * (p2 + dx * (p3 + dx * p4));
  };
  for (let y = 0; y < height; y++) {
    // The same products and sums as Pillow's affine_transform, in its order.
    const by = b * (y + 0.5);
    const ey = e * (y + 0.5);
    for (let x = 0; x < width; x++) {
      let xin = a * (x + 0.5) + by + c;
      let yin = d * (x + 0.5) + ey + f;
      if (xin < 0 || xin >= width || yin < 0 || yin >= height) continue; // fill: 0
      xin -= 0.5;
      yin -= 0.5;
      const fx = Math.floor(xin);
      const fy = Math.floor(yin);
      const dx = xin - fx;
      const dy = yin - fy;
      const xs = fx - 1;
      const ys = fy - 1;
      if (xs >= 0 && xs + 3 < width && ys >= 0 && ys + 3 < height) {
        // Inside: no neighbour clamped.
        const v1 = rowAt(ys, xs, xs + 1, xs + 2, xs + 3, dx);
        const v2 = rowAt(ys + 1, xs, xs + 1, xs + 2, xs + 3, dx);
        const v3 = rowAt(ys + 2, xs, xs + 1, xs + 2, xs + 3, dx);
        const v4 = rowAt(ys + 3, xs, xs + 1, xs + 2, xs + 3, dx);
        out[y * width + x] = cubic(v1, v2, v3, v4, dy);
        continue;
      }
      const x0 = clampX(xs);
      const x1 = clampX(xs + 1);
      const x2 = clampX(xs + 2);
      const x3 = clampX(xs + 3);
      const v1 = rowAt(ys < 0 ? 0 : ys >= height ? height - 1 : ys, x0, x1, x2, x3, dx);
      const v2 = ys + 1 >= 0 && ys + 1 < height ? rowAt(ys + 1, x0, x1, x2, x3, dx) : v1;
      const v3 = ys + 2 >= 0 && ys + 2 < height ? rowAt(ys + 2, x0, x1, x2, x3, dx) : v2;
      const v4 = ys + 3 >= 0 && ys + 3 < height ? rowAt(ys + 3, x0, x1, x2, x3, dx) : v3;
      out[y * width + x] = cubic(v1, v2, v3, v4, dy);
    }
  }
  return { luma: out, width, height };
}

/** robust_geometry._inscribed: the largest centred rectangle of the view's shape inside it
 * turned by `degrees`, as [top, bottom, left, right]. */
function inscribed(width, height, degrees) {
  const a = Math.abs(degrees) * (Math.PI / 180);
  const k = 1 / (Math.cos(a) + Math.sin(a) * Math.max(width / height, height / width));
  const h = height * k;
  const w = width * k;
  const top = pyRound((height - h) / 2);
  const left = pyRound((width - w) / 2);
  // numpy clips a slice to the array.
  return [top, Math.min(height, top + pyRound(h)), left, Math.min(width, left + pyRound(w))];
}

function mirrored(view) {
  const { luma, width, height } = view;
  const out = new Float32Array(width * height);
  for (let r = 0; r < height; r++) {
    const row = r * width;
    for (let c = 0; c < width; c++) out[row + c] = luma[row + width - 1 - c];
  }
  return { luma: out, width, height };
}

/** robust_geometry.render_variant: the variant's view of a luma image, or null if tiny.
 * `turned` caches the rotations by angle (tilts and straightened tilts share them). */
function renderVariant(view, v, turned = new Map()) {
  let source = view;
  if (v.tilt) {
    if (!turned.has(v.tilt)) turned.set(v.tilt, rotate(view, v.tilt));
    source = turned.get(v.tilt);
    if (v.inscribed) {
      const [t, b, l, r] = inscribed(source.width, source.height, v.tilt);
      source = cropLuma(source, t, b, l, r);
    }
  }
  const { width, height } = source;
  let top = pyRound(height * v.top);
  let bottom = height - pyRound(height * v.bottom);
  let left = pyRound(width * v.left);
  let right = width - pyRound(width * v.right);
  if (v.aspect) {
    const h = bottom - top;
    const w = right - left;
    if (w / h > v.aspect) {
      const keep = pyRound(h * v.aspect);
      left += Math.floor((w - keep) / 2);
      right = left + keep;
    } else {
      const keep = pyRound(w / v.aspect);
      top += Math.floor((h - keep) / 2);
      bottom = top + keep;
    }
  }
  if (bottom - top < MIN_SIDE || right - left < MIN_SIDE) return null;
  let out = cropLuma(source, top, bottom, left, right);
  if (isFramed(v)) out = framed(out, v);
  return v.mirror ? mirrored(out) : out;
}

/** robust_geometry._framed: the view with a border, strip or bars of luma `fill`. */
function framed(view, v) {
  const { luma, width, height } = view;
  let top = 0;
  let bottom = 0;
  let left = 0;
  let right = 0;
  if (v.frame) {
    top = bottom = left = right = pyRound(Math.max(height, width) * v.frame);
  }
  if (v.strip > 0) top = pyRound(height * v.strip);
  else if (v.strip < 0) bottom = pyRound(height * -v.strip);
  if (v.canvas) {
    let canvasH = height;
    let canvasW = width;
    if (width / height < v.canvas) canvasW = pyRound(height * v.canvas);
    else canvasH = pyRound(width / v.canvas);
    top = Math.floor((canvasH - height) / 2) + pyRound(canvasH * v.shift);
    top = Math.min(Math.max(top, 0), canvasH - height);
    bottom = canvasH - height - top;
    left = Math.floor((canvasW - width) / 2);
    right = canvasW - width - left;
  }
  const outW = width + left + right;
  const outH = height + top + bottom;
  const out = new Float32Array(outW * outH).fill(v.fill);
  for (let r = 0; r < height; r++) {
    out.set(luma.subarray(r * width, (r + 1) * width), (top + r) * outW + left);
  }
  return { luma: out, width: outW, height: outH };
}

/** robust.equalised: a grey picture of the luma mapped through its own cumulative histogram
 * (each value becomes 255 times the share of the values at or below it, rounded down). */
function equalisedGrey(view) {
  const sorted = Float32Array.from(view.luma).sort();
  const n = sorted.length;
  const level = new Map();
  for (let i = 0; i < n; i++) {
    if (i + 1 === n || sorted[i + 1] !== sorted[i]) {
      level.set(sorted[i], Math.floor(((i + 1) * 255) / n));
    }
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = level.get(view.luma[i]);
  return grey(out, view.width, view.height);
}

/** robust._orientations' 7 turns of a luma view (the pixels moved, then hashed). */
function turnedViews(view, prefix) {
  const { luma, width, height } = view;
  return TURNS.map(([name, flipRows, flipCols, transpose]) => {
    const flipped = flippedLuma(luma, width, height, flipRows, flipCols);
    let turned = { luma: flipped, width, height };
    if (transpose) {
      const out = new Float32Array(width * height);
      for (let r = 0; r < height; r++) {
        for (let c = 0; c < width; c++) out[c * height + r] = flipped[r * width + c];
      }
      turned = { luma: out, width: height, height: width };
    }
    return pdq(turned, `${prefix}/${name}`);
  });
}

function pdq(view, variant) {
  if (Math.min(view.width, view.height) < MIN_HASHABLE_DIM) {
    return { hash: "0".repeat(64), quality: 0, variant };
  }
  return { ...bandedPdqOfLuma(view.luma, view.width, view.height), variant };
}

/** robust.bank_signals(weak_views=True) of the grey working copy, every variant named
 * (the working copy's own turns left out, but those of a weak picture's equalised copy). */
export function bankSignals(luma, width, height, equalise = true) {
  const rounded = roundLuma(luma, width, height);
  const work = shrink(rounded, WORK_SIDE);
  if (Math.min(work.width, work.height) < MIN_SIDE) return [];
  const workLuma = greyLuma(work);
  const signals = [pdq(workLuma, "full")];
  // robust.is_smooth: a smooth picture (a gradient) gets its whole views only.
  const smooth = Math.min(workLuma.width, workLuma.height) >= MIN_HASHABLE_DIM
    && smoothBuffer(banded64(workLuma.luma, workLuma.width, workLuma.height));
  signals[0].smooth = smooth;
  const small = shrink(work, TRIM_SIDE);
  const tight = trimBox(work, FLAT_TOLERANCE, small);
  const loose = trimBox(work, JPEG_TOLERANCE, small);
  const same = (p, q) => p !== null && q !== null && p.every((v, i) => v === q[i]);
  if (tight !== null) signals.push(pdq(greyLuma(cropGrey(work, tight)), "trimmed"));
  if (loose !== null && !same(loose, tight)) {
    signals.push(pdq(greyLuma(cropGrey(work, loose)), "trimmed_jpeg"));
  }
  if (smooth) return signals;
  const turned = new Map();
  for (const v of ALL_VARIANTS) {
    if ((v.tilt || isFramed(v)) && signals[0].quality < MIN_QUALITY) continue;
    if (v.aspect && aspectCut(work.height, work.width, v.aspect) < MIN_ASPECT_CUT) continue;
    // robust.bank_signals: bars too thin to matter (a 4:5 crop on a 9:16 screen has them).
    if (v.canvas && !v.aspect && aspectCut(work.height, work.width, v.canvas) < MIN_ASPECT_CUT) {
      continue;
    }
    const view = renderVariant(workLuma, v, turned);
    if (view !== null) signals.push(pdq(view, v.name));
  }
  // robust.EQUALISED_PREFIX: a weak (flat) picture's views once more, of its equalised copy.
  if (equalise && signals[0].quality < MIN_QUALITY) {
    const eq = equalisedGrey(workLuma);
    const inner = bankSignals(greyLuma(eq).luma, eq.width, eq.height, false);
    // robust._renamed: none when the equalised copy is smooth (a ramp).
    const all = inner[0].smooth
      ? []
      : [inner[0], ...turnedViews(greyLuma(eq), "full"), ...inner.slice(1)];
    for (const signal of all) {
      signals.push({ hash: signal.hash, quality: signal.quality, variant: `eq_${signal.variant}` });
    }
  }
  return signals;
}

// rescind.media.pdq ORIENTATIONS and _TURNS: (flip rows, flip columns, transpose).
const TURNS = [
  ["rot90", false, true, true],
  ["rot180", true, true, false],
  ["rot270", true, false, true],
  ["flip_v", true, false, false],
  ["flip_h", false, true, false],
  ["transpose", false, false, true],
  ["transverse", true, true, true],
];

function flippedLuma(luma, width, height, flipRows, flipCols) {
  const out = new Float32Array(width * height);
  for (let r = 0; r < height; r++) {
    const from = (flipRows ? height - 1 - r : r) * width;
    const to = r * width;
    if (!flipCols) out.set(luma.subarray(from, from + width), to);
    else for (let c = 0; c < width; c++) out[to + c] = luma[from + width - 1 - c];
  }
  return out;
}

function transposed(buffer) {
  const out = new Float32Array(buffer.length);
  for (let i = 0; i < 64; i++) for (let j = 0; j < 64; j++) out[j * 64 + i] = buffer[i * 64 + j];
  return out;
}

/** The picture's 7 other orientations at full size, as the server banks them
 * (`hash_luma(dihedral=True)`): pdqhash's filter of the flipped pixels (read from the one
 * filtered picture where pdq.js flipBuffers can), a transpose transposing the 64x64
 * buffer. Named `full/<orientation>`. `flips` is flipBuffers' result when the caller has it. */
export function orientationSignals(luma, width, height, flips = null) {
  if (width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM) {
    return TURNS.map(([name]) => ({ hash: "0".repeat(64), quality: 0, variant: `full/${name}` }));
  }
  const sampled = flips ?? flipBuffers(luma, width, height);
  const buffers = new Map();
  return TURNS.map(([name, flipRows, flipCols, transpose]) => {
    const key = `${flipRows},${flipCols}`;
    if (!buffers.has(key)) {
      buffers.set(
        key,
        sampled
          ? sampled(flipRows, flipCols)
          : jarosz64(flippedLuma(luma, width, height, flipRows, flipCols), width, height),
      );
    }
    const buffer = buffers.get(key);
    return { ...hashBuffer(transpose ? transposed(buffer) : buffer), variant: `full/${name}` };
  });
}

/** The views the server banks for a picture (media_signals.bank_signals_from_media): the
 * 7 other orientations at full size (weak ones too), then the bank signals but "full", a
 * weak view kept only when cut (a crop or tilt), each hash once (not repeating `plain`, the
 * picture's own hash; `flips`, when given, flipBuffers' result for the picture).
 * Returns {views, smooth}: `smooth` when the picture is smooth (robust.is_smooth: a
 * gradient, whose views are its whole ones only), which the form posts with the item so the
 * server banks its hashes as smooth (docs/matching.md, "Smooth pictures"). */
export function bankViews(luma, width, height, plain, flips = null) {
  const seen = new Set([plain.hash]);
  const out = [];
  const bank = bankSignals(luma, width, height);
  const smooth = bank.length > 0 && bank[0].smooth;
  for (const signal of smooth ? [] : orientationSignals(luma, width, height, flips)) {
    if (seen.has(signal.hash)) continue;
    seen.add(signal.hash);
    out.push(signal);
  }
  for (const signal of bank) {
    if (signal.variant === "full") continue;
    const cut = !WHOLE_VIEWS.has(signal.variant.split("/")[0]);
    if (seen.has(signal.hash) || (!cut && signal.quality < MIN_QUALITY)) continue;
    seen.add(signal.hash);
    out.push(signal);
  }
  return { views: out, smooth };
}
