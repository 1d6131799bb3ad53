// PDQ (Meta's perceptual hash) as pdqhash computes it, to the bit: the port of our
// server's rescind/media/pdq.py and filters.py. Every float step rounds to float32 where
// pdqhash's C++ stores or computes a float (Math.fround; Float32Array stores round too),
// and every sum runs in pdqhash's order, so the same pixels give the same 256 bits.

const DIM = 64;
export const MIN_HASHABLE_DIM = 5; // below this PDQ gives the all-zero hash, quality 0
const f32 = Math.fround;

// pdqhash's DCT matrix: rows 1-16 of the 64-point DCT-II, a float scale times a double
// cosine, stored as float.
const DCT = (() => {
  const scale = f32(Math.sqrt(2.0 / DIM));
  const out = new Float32Array(16 * DIM);
  for (let i = 1; i <= 16; i++) {
    for (let j = 0; j < DIM; j++) {
      out[(i - 1) * DIM + j] = scale * Math.cos((Math.PI / 2.0 / DIM) * i * (2 * j + 1));
    }
  }
  return out;
})();

/** pdqhash's float32 luma of RGBA pixels (alpha ignored): (r*0.299 + g*0.587) + b*0.114
 * in double, stored as float. */
export function lumaFromRgba(rgba, width, height) {
  const n = width * height;
  const out = new Float32Array(n);
  for (let p = 0, q = 0; p < n; p++, q += 4) {
    out[p] = rgba[q] * 0.299 + rgba[q + 1] * 0.587 + rgba[q + 2] * 0.114;
  }
  return out;
}

/** PDQ's box window along an axis of `length` pixels (computeJaroszFilterWindowSize). */
export function windowSize(length) {
  return Math.floor((length + 2 * DIM - 1) / (2 * DIM));
}

// box1DFloat along each row (stride 1): a running float sum, divided by the window so far.
// Two rows at a time: each row's sum is a chain of dependent float steps, and two chains
// side by side keep the processor busy. `keep` (optional, sorted column indices) stores
// only those columns, compactly (dst is then height x keep.length).
function boxRows(src, dst, height, width, window, keep) {
  const half = Math.floor((window + 2) / 2);
  const n1 = half - 1;
  const n2 = window - half + 1;
  const n3 = width - window;
  const n4 = half - 1;
  const full = new Float32Array(2 * width);
  let row = 0;
  for (; row + 1 < height; row += 2) {
    const a = row * width;
    const b = a + width;
    let ri = 0;
    let li = 0;
    let oi = 0;
    let sa = 0;
    let sb = 0;
    let count = 0;
    for (let i = 0; i < n1; i++, ri++) {
      sa = f32(sa + src[a + ri]);
      sb = f32(sb + src[b + ri]);
      count++;
    }
    for (let i = 0; i < n2; i++, ri++, oi++) {
      sa = f32(sa + src[a + ri]);
      sb = f32(sb + src[b + ri]);
      count++;
      full[oi] = sa / count;
      full[width + oi] = sb / count;
    }
    for (let i = 0; i < n3; i++, ri++, li++, oi++) {
      sa = f32(f32(sa + src[a + ri]) - src[a + li]);
      sb = f32(f32(sb + src[b + ri]) - src[b + li]);
      full[oi] = sa / count;
      full[width + oi] = sb / count;
    }
    for (let i = 0; i < n4; i++, li++, oi++) {
      sa = f32(sa - src[a + li]);
      sb = f32(sb - src[b + li]);
      count--;
      full[oi] = sa / count;
      full[width + oi] = sb / count;
    }
    store(full, 0, dst, row, width, keep);
    store(full, width, dst, row + 1, width, keep);
  }
  for (; row < height; row++) {
    const base = row * width;
    let ri = base;
    let li = base;
    let oi = 0;
    let sum = 0;
    let count = 0;
    for (let i = 0; i < n1; i++) {
      sum = f32(sum + src[ri++]);
      count++;
    }
    for (let i = 0; i < n2; i++) {
      sum = f32(sum + src[ri++]);
      count++;
      full[oi++] = sum / count;
    }
    for (let i = 0; i < n3; i++) {
      sum = f32(f32(sum + src[ri++]) - src[li++]);
      full[oi++] = sum / count;
    }
    for (let i = 0; i < n4; i++) {
      sum = f32(sum - src[li++]);
      count--;
      full[oi++] = sum / count;
    }
    store(full, 0, dst, row, width, keep);
  }
}

function store(full, from, dst, row, width, keep) {
  if (keep) {
    const at = row * keep.length;
    for (let j = 0; j < keep.length; j++) dst[at + j] = full[from + keep[j]];
  } else {
    dst.set(full.subarray(from, from + width), row * width);
  }
}

// box1DFloat down every column at once (the same sums, independent columns side by side).
function boxCols(src, dst, height, width, window, sums) {
  const half = Math.floor((window + 2) / 2);
  const n1 = half - 1;
  const n2 = window - half + 1;
  const n3 = height - window;
  const n4 = half - 1;
  sums.fill(0);
  let ri = 0;
  let li = 0;
  let oi = 0;
  let count = 0;
  for (let i = 0; i < n1; i++, ri += width) {
    for (let c = 0; c < width; c++) sums[c] += src[ri + c];
    count++;
  }
  for (let i = 0; i < n2; i++, ri += width, oi += width) {
    count++;
    for (let c = 0; c < width; c++) {
      const s = f32(sums[c] + src[ri + c]);
      sums[c] = s;
      dst[oi + c] = s / count;
    }
  }
  for (let i = 0; i < n3; i++, ri += width, li += width, oi += width) {
    for (let c = 0; c < width; c++) {
      const s = f32(f32(sums[c] + src[ri + c]) - src[li + c]);
      sums[c] = s;
      dst[oi + c] = s / count;
    }
  }
  for (let i = 0; i < n4; i++, li += width, oi += width) {
    count--;
    for (let c = 0; c < width; c++) {
      const s = f32(sums[c] - src[li + c]);
      sums[c] = s;
      dst[oi + c] = s / count;
    }
  }
}

/** pdqhash's 64x64 buffer of a float32 luma array (height x width, row-major): two
 * rounds of box passes along rows then columns, then the samples of a 64x64 grid.
 *
 * Only the 64x64 samples are kept, so the second round computes its row sums in full (each
 * depends on every earlier one) but stores only the 64 sampled columns, and runs its column
 * sums down those columns only: the same values, a third less work. */
export function jarosz64(luma, width, height) {
  if (width === DIM && height === DIM) return Float32Array.from(luma.subarray(0, DIM * DIM));
  const alongRows = windowSize(width);
  const alongCols = windowSize(height);
  const rows = Int32Array.from({ length: DIM }, (_, i) => Math.floor(((i + 0.5) * height) / DIM));
  const cols = Int32Array.from({ length: DIM }, (_, j) => Math.floor(((j + 0.5) * width) / DIM));
  const a = new Float32Array(width * height);
  const b = new Float32Array(width * height);
  boxRows(luma, a, height, width, alongRows);
  boxCols(a, b, height, width, alongCols, new Float32Array(width));
  const narrow = new Float32Array(height * DIM);
  boxRows(b, narrow, height, width, alongRows, cols);
  const down = width >= DIM ? a.subarray(0, height * DIM) : new Float32Array(height * DIM);
  boxCols(narrow, down, height, DIM, alongCols, new Float32Array(DIM));
  const out = new Float32Array(DIM * DIM);
  for (let i = 0; i < DIM; i++) out.set(down.subarray(rows[i] * DIM, rows[i] * DIM + DIM), i * DIM);
  return out;
}

/** pdqhash's 64x64 buffers of the picture and of its flips, from one filtering (the
 * server's filters.axis_samples and flip_samples): reversing an axis reverses pdqhash's box,
 * which is one pixel longer after than before for an even window, so sample i of the
 * flipped axis is the filtered original at length - 1 - p_i - 2 (- 0 for an odd window).
 * Returns `buffer(flipRows, flipCols)`, or null for a picture with an axis of 256 px or
 * less (there a box can meet the far edge: flip the pixels instead). The unflipped buffer
 * is jarosz64's, to the bit. */
export function flipBuffers(luma, width, height) {
  if (windowSize(width) <= 2 || windowSize(height) <= 2) return null;
  const alongRows = windowSize(width);
  const alongCols = windowSize(height);
  const forward = (length) =>
    Int32Array.from({ length: DIM }, (_, i) => Math.floor(((i + 0.5) * length) / DIM));
  const back = (p, length) => {
    const shift = windowSize(length) % 2 === 0 ? 2 : 0;
    return p.map((v) => Math.min(length - 1, Math.max(0, length - 1 - v - shift)));
  };
  const rows = [forward(height)];
  rows.push(back(rows[0], height));
  const fwdCols = forward(width);
  const keep = Int32Array.from([...fwdCols, ...back(fwdCols, width)]);
  const a = new Float32Array(width * height);
  const b = new Float32Array(width * height);
  boxRows(luma, a, height, width, alongRows);
  boxCols(a, b, height, width, alongCols, new Float32Array(width));
  const narrow = new Float32Array(height * keep.length);
  boxRows(b, narrow, height, width, alongRows, keep);
  const down = a.subarray(0, height * keep.length); // width > 256 > keep.length
  boxCols(narrow, down, height, keep.length, alongCols, new Float32Array(keep.length));
  return (flipRows, flipCols) => {
    const out = new Float32Array(DIM * DIM);
    const at = flipRows ? rows[1] : rows[0];
    const from = flipCols ? DIM : 0;
    for (let i = 0; i < DIM; i++) {
      const start = at[i] * keep.length + from;
      out.set(down.subarray(start, start + DIM), i * DIM);
    }
    return out;
  };
}

// The server's banded filter (rescind.media.pdq.axis_weights and filters.band_pass), which
// its copy-robust views use (exact=False): the same tent as pdqhash's two box passes, as
// 64 rows of float32 weights per axis, summed band by band at float32. Not pdqhash's order
// of sums, so not its bits; the server's bits for the views.
const bandCache = new Map();

// pdq._tent_weights in float64, each step in numpy's order (np.add.at in index order, then a
// sequential cumsum), stored as float32; with each row's non-zero span.
function tentBands(n) {
  const cached = bandCache.get(n);
  if (cached) return cached;
  const window = windowSize(n);
  const half = Math.floor((window + 2) / 2);
  const lo = new Int32Array(n);
  const hi = new Int32Array(n);
  const count = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    lo[k] = Math.max(0, k - (window - half));
    hi[k] = Math.min(n - 1, k + half - 1);
    count[k] = hi[k] - lo[k] + 1;
  }
  const dense = new Float32Array(DIM * n);
  const bounds = new Int32Array(2 * DIM);
  const diff = new Float64Array(n + 1);
  const perBox = new Float64Array(n);
  for (let i = 0; i < DIM; i++) {
    const o = Math.floor(((i + 0.5) * n) / DIM);
    diff.fill(0);
    perBox.fill(0);
    const first = 1.0 / count[o];
    for (let k = lo[o]; k <= hi[o]; k++) perBox[k] = first / count[k];
    for (let k = lo[o]; k <= hi[o]; k++) diff[lo[k]] += perBox[k];
    for (let k = lo[o]; k <= hi[o]; k++) diff[hi[k] + 1] -= perBox[k];
    // The running sum's residue outside the tent's footprint is set to zero, as the server does.
    const from = lo[lo[o]];
    const to = hi[hi[o]] + 1;
    let sum = 0;
    let start = -1;
    let stop = -1;
    for (let k = 0; k < to; k++) {
      sum += diff[k];
      if (k < from || sum === 0) continue;
      dense[i * n + k] = sum;
      if (start < 0) start = k;
      stop = k + 1;
    }
    bounds[2 * i] = start;
    bounds[2 * i + 1] = stop;
  }
  const bands = { dense, bounds };
  bandCache.set(n, bands);
  return bands;
}

/** The server's banded 64x64 buffer of a float32 luma array (height x width, row-major):
 * rows first (64 x width), then columns, each output a float32 sum over its band in order. */
export function banded64(luma, width, height) {
  const rows = tentBands(height);
  const cols = tentBands(width);
  const partial = new Float32Array(DIM * width);
  for (let i = 0; i < DIM; i++) {
    const out = partial.subarray(i * width, (i + 1) * width);
    for (let r = rows.bounds[2 * i]; r < rows.bounds[2 * i + 1]; r++) {
      const w = rows.dense[i * height + r];
      const from = r * width;
      for (let c = 0; c < width; c++) out[c] = f32(out[c] + f32(w * luma[from + c]));
    }
  }
  const buffer = new Float32Array(DIM * DIM);
  for (let j = 0; j < DIM; j++) {
    const start = cols.bounds[2 * j];
    const stop = cols.bounds[2 * j + 1];
    const weights = cols.dense.subarray(j * width, (j + 1) * width);
    for (let i = 0; i < DIM; i++) {
      const row = i * width;
      let s = 0;
      for (let c = start; c < stop; c++) s = f32(s + f32(weights[c] * partial[row + c]));
      buffer[i * DIM + j] = s;
    }
  }
  return buffer;
}

// media/pdq.py SMOOTH_COEFFICIENTS, SMOOTH_SHARE.
const SMOOTH_COEFFICIENTS = 16;
const SMOOTH_SHARE = 0.9;

/** pdq.smooth_buffers of one 64x64 buffer: its 16 largest DCT coefficients but the DC term
 * hold 90% of their energy (a gradient). Float64 sums, largest first, as the server sums. */
export function smoothBuffer(buffer) {
  const energy = Array.from(dct16(buffer), (c) => c * c);
  energy[0] = 0;
  energy.sort((a, b) => b - a);
  let top = 0;
  let total = 0;
  for (let k = 0; k < energy.length; k++) {
    total += energy[k];
    if (k === SMOOTH_COEFFICIENTS - 1) top = total;
  }
  return total > 0 && top >= SMOOTH_SHARE * total;
}

// dct64To16: T = D A, then B = T D', each sum over k in order at float32.
function dct16(buffer) {
  const t = new Float32Array(16 * DIM);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < DIM; j++) {
      let s = 0;
      for (let k = 0; k < DIM; k++) s = f32(s + f32(DCT[i * DIM + k] * buffer[k * DIM + j]));
      t[i * DIM + j] = s;
    }
  }
  const coefs = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (let k = 0; k < DIM; k++) s = f32(s + f32(t[i * DIM + k] * DCT[j * DIM + k]));
      coefs[i * 16 + j] = s;
    }
  }
  return coefs;
}

/** {hash (64 hex), quality} of a 64x64 float buffer, as pdqhash hashes its buffer. */
export function hashBuffer(buffer) {
  const coefs = dct16(buffer);
  const median = Float32Array.from(coefs).sort()[127]; // the lower median (torben's)
  // Bit i*16 + j is coefficient (i, j); the hex runs from bit 255 down.
  let hex = "";
  for (let byte = 0; byte < 32; byte++) {
    let v = 0;
    for (let m = 0; m < 8; m++) {
      v = (v << 1) | (coefs[255 - (byte * 8 + m)] > median ? 1 : 0);
    }
    hex += v.toString(16).padStart(2, "0");
  }
  return { hash: hex, quality: quality(buffer) };
}

// pdqImageDomainQualityMetric: sum of int(((u - v) * 100) / 255) over neighbours, / 90.
function quality(buffer) {
  let gradient = 0;
  for (let i = 0; i < DIM - 1; i++) {
    for (let j = 0; j < DIM; j++) {
      const d = f32(buffer[i * DIM + j] - buffer[(i + 1) * DIM + j]);
      gradient += Math.abs(Math.trunc(f32(f32(d * 100) / 255)));
    }
  }
  for (let i = 0; i < DIM; i++) {
    for (let j = 0; j < DIM - 1; j++) {
      const d = f32(buffer[i * DIM + j] - buffer[i * DIM + j + 1]);
      gradient += Math.abs(Math.trunc(f32(f32(d * 100) / 255)));
    }
  }
  return Math.min(Math.floor(gradient / 90), 100);
}

/** PDQ of a float32 luma array: {hash, quality}; the all-zero hash when too small. */
export function pdqOfLuma(luma, width, height) {
  if (width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM) {
    return { hash: "0".repeat(64), quality: 0 };
  }
  return hashBuffer(jarosz64(luma, width, height));
}

/** The server's hash of a copy-robust view (robust._pdq): the banded filter, not pdqhash's
 * sums; the all-zero hash when too small. */
export function bandedPdqOfLuma(luma, width, height) {
  if (width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM) {
    return { hash: "0".repeat(64), quality: 0 };
  }
  return hashBuffer(banded64(luma, width, height));
}

/** Bits of difference between two 64-hex hashes. */
export function hamming(a, b) {
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
