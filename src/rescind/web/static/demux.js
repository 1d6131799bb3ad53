// A small demuxer for the device's WebCodecs path: the video track of an MP4/MOV (ISO BMFF)
// or a WebM/Matroska file, as the list of its coded samples (where each lies in the file, its
// size, its presentation time in ticks, whether it is a keyframe) in decode order, and what a
// VideoDecoder needs to be configured (codec string, description). Written here from the
// ISO/IEC 14496-12 and Matroska specifications. Anything it does not know (fragmented MP4,
// laced or compressed Matroska blocks, an edit list of more than two entries, a mirrored
// track) is an
// `Unsupported` error: the caller then decodes with a <video> element instead.

export class Unsupported extends Error {
  constructor(message) {
    super(message);
    this.name = "Unsupported";
  }
}

const MAX_HEADER_BOX = 256 << 20; // a moov larger than this is not read whole
const WINDOW = 4 << 20; // bytes a WebM scan reads at a time
const MAX_SAMPLES = 3 * 3600 * 240; // 3 hours (the cap) at 240 frames per second

const hex2 = (n) => n.toString(16).padStart(2, "0");
const dec2 = (n) => String(n).padStart(2, "0");

/** Random access to a Blob with one cached window (sequential reads cost one slice each). */
class Source {
  constructor(blob) {
    this.blob = blob;
    this.size = blob.size;
    this.start = 0;
    this.bytes = new Uint8Array(0);
  }

  async read(offset, length) {
    const end = Math.min(offset + length, this.size);
    if (offset < this.start || end > this.start + this.bytes.length) {
      const size = Math.max(end - offset, WINDOW);
      this.bytes = new Uint8Array(await this.blob.slice(offset, offset + size).arrayBuffer());
      this.start = offset;
    }
    return this.bytes.subarray(offset - this.start, end - this.start);
  }
}

// ---------------------------------------------------------------------------------------
// ISO BMFF (MP4, MOV)

function type4(bytes, at) {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

/** The boxes in bytes[from, to): [{type, start (payload), end}]. */
function boxes(view, from, to) {
  const out = [];
  let at = from;
  while (at + 8 <= to) {
    let size = view.getUint32(at);
    const type = type4(new Uint8Array(view.buffer, view.byteOffset), at + 4);
    let header = 8;
    if (size === 1) {
      if (at + 16 > to) break;
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) {
      size = to - at;
    }
    if (size < header || at + size > to) throw new Unsupported(`a damaged ${type} box`);
    out.push({ type, start: at + header, end: at + size });
    at += size;
  }
  return out;
}

function child(view, box, type) {
  return box && boxes(view, box.start, box.end).find((b) => b.type === type);
}

function path(view, box, ...types) {
  for (const type of types) box = child(view, box, type);
  return box;
}

/** The top-level box `type` of the file, read whole. */
async function topBox(source, type) {
  let at = 0;
  while (at + 8 <= source.size) {
    const head = new DataView((await source.read(at, 16)).slice().buffer);
    let size = head.getUint32(0);
    let header = 8;
    if (size === 1) {
      size = Number(head.getBigUint64(8));
      header = 16;
    } else if (size === 0) {
      size = source.size - at;
    }
    if (size < header) throw new Unsupported("a damaged box");
    const name = type4(new Uint8Array(head.buffer), 4);
    if (name === type) {
      if (size > MAX_HEADER_BOX) throw new Unsupported(`the ${type} box is too large`);
      const bytes = new Uint8Array(await source.blob.slice(at, at + size).arrayBuffer());
      return { view: new DataView(bytes.buffer), box: { type, start: header, end: size } };
    }
    at += size;
  }
  throw new Unsupported(`no ${type} box`);
}

function fullBoxTable(view, box, entryBytes) {
  const count = view.getUint32(box.start + 4);
  if (box.start + 8 + count * entryBytes > box.end) throw new Unsupported("a damaged table");
  return { count, at: box.start + 8 };
}

/** The codec string and description of a visual sample entry. */
function sampleEntry(view, stsd) {
  const entry = boxes(view, stsd.start + 8, stsd.end)[0];
  if (!entry) throw new Unsupported("no sample description");
  const bytes = new Uint8Array(view.buffer, view.byteOffset);
  const width = view.getUint16(entry.start + 24);
  const height = view.getUint16(entry.start + 26);
  const inner = boxes(view, entry.start + 78, entry.end);
  const find = (type) => inner.find((b) => b.type === type);
  const payload = (box) => bytes.slice(box.start, box.end);
  if (entry.type === "avc1" || entry.type === "avc3") {
    const avcC = find("avcC");
    if (!avcC) throw new Unsupported("an H.264 track without avcC");
    const p = bytes.subarray(avcC.start + 1, avcC.start + 4);
    return { codec: `${entry.type}.${hex2(p[0])}${hex2(p[1])}${hex2(p[2])}`, description: payload(avcC), width, height };
  }
  if (entry.type === "vp09") {
    const vpcC = find("vpcC");
    if (!vpcC) throw new Unsupported("a VP9 track without vpcC");
    const profile = bytes[vpcC.start + 4];
    const level = bytes[vpcC.start + 5];
    const depth = bytes[vpcC.start + 6] >> 4;
    return { codec: `vp09.${dec2(profile)}.${dec2(level)}.${dec2(depth)}`, width, height };
  }
  if (entry.type === "vp08") return { codec: "vp8", width, height };
  if (entry.type === "av01") {
    const av1C = find("av1C");
    if (!av1C) throw new Unsupported("an AV1 track without av1C");
    return { codec: av1Codec(bytes.subarray(av1C.start, av1C.end)), description: payload(av1C), width, height };
  }
  throw new Unsupported(`no WebCodecs path for ${entry.type}`);
}

/** av01.P.LLT.DD from an AV1CodecConfigurationRecord. */
function av1Codec(record) {
  const profile = record[1] >> 5;
  const level = record[1] & 0x1f;
  const tier = record[2] & 0x80 ? "H" : "M";
  const high = record[2] & 0x40;
  const twelve = record[2] & 0x20;
  const depth = high ? (twelve && profile === 2 ? 12 : 10) : 8;
  return `av01.${profile}.${dec2(level)}${tier}.${dec2(depth)}`;
}

/** The clockwise turn (0, 90, 180, 270 degrees) a track header's display matrix asks a player
 * to give the picture (phones store portrait video sideways); null for any other transform. */
function tkhdRotation(view, tkhd) {
  const version = view.getUint8(tkhd.start);
  const matrix = tkhd.start + (version === 1 ? 52 : 40);
  const [a, b, c, d] = [0, 4, 12, 16].map((k) => Math.sign(view.getInt32(matrix + k)));
  if (a === 1 && b === 0 && c === 0 && d === 1) return 0;
  if (a === 0 && b === 1 && c === -1 && d === 0) return 90;
  if (a === -1 && b === 0 && c === 0 && d === -1) return 180;
  if (a === 0 && b === -1 && c === 1 && d === 0) return 270;
  return null;
}

async function demuxMp4(source) {
  const { view, box: moov } = await topBox(source, "moov");
  if (child(view, moov, "mvex")) throw new Unsupported("a fragmented MP4");
  const trak = boxes(view, moov.start, moov.end)
    .filter((b) => b.type === "trak")
    .find((t) => {
      const hdlr = path(view, t, "mdia", "hdlr");
      return hdlr && type4(new Uint8Array(view.buffer), hdlr.start + 8) === "vide";
    });
  if (!trak) throw new Unsupported("no video track");
  const tkhd = child(view, trak, "tkhd");
  const rotation = tkhd ? tkhdRotation(view, tkhd) : 0;
  if (rotation === null) throw new Unsupported("a mirrored or skewed video track");
  const elst = path(view, trak, "edts", "elst");
  if (elst && view.getUint32(elst.start + 4) > 2) throw new Unsupported("an edit list");
  const mdhd = path(view, trak, "mdia", "mdhd");
  const timescale = view.getUint32(mdhd.start + (view.getUint8(mdhd.start) === 1 ? 20 : 12));
  const stbl = path(view, trak, "mdia", "minf", "stbl");
  const table = (type) => child(view, stbl, type);
  const config = sampleEntry(view, table("stsd"));

  const stsz = table("stsz");
  if (!stsz) throw new Unsupported("no stsz table");
  const fixed = view.getUint32(stsz.start + 4);
  const count = view.getUint32(stsz.start + 8);
  if (!fixed && stsz.start + 12 + 4 * count > stsz.end) throw new Unsupported("a damaged stsz");
  if (count > MAX_SAMPLES) throw new Unsupported("more samples than a video can have");
  const size = (i) => fixed || view.getUint32(stsz.start + 12 + 4 * i);

  const dts = new Float64Array(count);
  const stts = table("stts");
  {
    const { count: runs, at } = fullBoxTable(view, stts, 8);
    let i = 0;
    let t = 0;
    for (let r = 0; r < runs && i < count; r++) {
      const n = view.getUint32(at + 8 * r);
      const delta = view.getUint32(at + 8 * r + 4);
      for (let k = 0; k < n && i < count; k++, i++, t += delta) dts[i] = t;
    }
    if (i < count) throw new Unsupported("stts covers too few samples");
  }
  const pts = Float64Array.from(dts);
  const ctts = table("ctts");
  if (ctts) {
    const { count: runs, at } = fullBoxTable(view, ctts, 8);
    let i = 0;
    for (let r = 0; r < runs && i < count; r++) {
      const n = view.getUint32(at + 8 * r);
      const offset = view.getInt32(at + 8 * r + 4);
      for (let k = 0; k < n && i < count; k++, i++) pts[i] = dts[i] + offset;
    }
  }
  const key = new Uint8Array(count).fill(1);
  const stss = table("stss");
  if (stss) {
    key.fill(0);
    const { count: n, at } = fullBoxTable(view, stss, 4);
    for (let k = 0; k < n; k++) {
      const i = view.getUint32(at + 4 * k) - 1;
      if (i >= 0 && i < count) key[i] = 1;
    }
  }
  const stco = table("stco");
  const co64 = table("co64");
  const chunks = stco || co64;
  if (!chunks) throw new Unsupported("no chunk offsets");
  const { count: nChunks, at: chunkAt } = fullBoxTable(view, chunks, stco ? 4 : 8);
  const chunkOffset = (c) =>
    stco ? view.getUint32(chunkAt + 4 * c) : Number(view.getBigUint64(chunkAt + 8 * c));
  const stsc = table("stsc");
  const { count: nRuns, at: runAt } = fullBoxTable(view, stsc, 12);
  const offset = new Float64Array(count);
  let i = 0;
  for (let r = 0; r < nRuns && i < count; r++) {
    const first = view.getUint32(runAt + 12 * r) - 1;
    const perChunk = view.getUint32(runAt + 12 * r + 4);
    const last = r + 1 < nRuns ? view.getUint32(runAt + 12 * (r + 1)) - 1 : nChunks;
    for (let c = first; c < last && c < nChunks && i < count; c++) {
      let at = chunkOffset(c);
      for (let k = 0; k < perChunk && i < count; k++, i++) {
        offset[i] = at;
        at += size(i);
      }
    }
  }
  if (i < count) throw new Unsupported("the chunk tables cover too few samples");
  const samples = [];
  for (let s = 0; s < count; s++) {
    const bytes = size(s);
    if (bytes > 0) samples.push({ offset: offset[s], size: bytes, pts: pts[s], key: key[s] === 1 });
  }
  return { ...config, rotation, timescale, samples };
}

// ---------------------------------------------------------------------------------------
// Matroska, WebM

const ID = {
  segment: 0x18538067,
  info: 0x1549a966,
  timecodeScale: 0x2ad7b1,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  trackType: 0x83,
  codecId: 0x86,
  codecPrivate: 0x63a2,
  contentEncodings: 0x6d80,
  video: 0xe0,
  pixelWidth: 0xb0,
  pixelHeight: 0xba,
  cluster: 0x1f43b675,
  timecode: 0xe7,
  simpleBlock: 0xa3,
  blockGroup: 0xa0,
  block: 0xa1,
  referenceBlock: 0xfb,
};
// Children of a Segment: one of these ends a Cluster of unknown size.
const SEGMENT_LEVEL = new Set([
  0x114d9b74, 0x1549a966, 0x1654ae6b, 0x1f43b675, 0x1c53bb6b, 0x1941a469, 0x1043a770, 0x1254c367,
]);

/** An element header at bytes[0..]: {id, size (null: unknown), length}, or null if cut off. */
function elementHeader(bytes) {
  if (bytes.length < 2) return null;
  const first = bytes[0];
  const idLength = Math.clz32(first) - 23;
  if (idLength < 1 || idLength > 4) throw new Unsupported("a damaged Matroska element");
  let id = 0;
  for (let k = 0; k < idLength; k++) id = id * 256 + bytes[k];
  if (bytes.length < idLength + 1) return null;
  const lead = bytes[idLength];
  const sizeLength = Math.clz32(lead) - 23;
  if (sizeLength < 1 || sizeLength > 8) throw new Unsupported("a damaged Matroska size");
  if (bytes.length < idLength + sizeLength) return null;
  let size = lead & (0xff >> sizeLength);
  let unknown = size === (0xff >> sizeLength);
  for (let k = 1; k < sizeLength; k++) {
    const b = bytes[idLength + k];
    size = size * 256 + b;
    unknown = unknown && b === 0xff;
  }
  return { id, size: unknown ? null : size, length: idLength + sizeLength };
}

function uint(bytes) {
  let n = 0;
  for (const b of bytes) n = n * 256 + b;
  return n;
}

function vint(bytes, at) {
  const length = Math.clz32(bytes[at]) - 23;
  if (length < 1 || length > 8) throw new Unsupported("a damaged Matroska number");
  let n = bytes[at] & (0xff >> length);
  for (let k = 1; k < length; k++) n = n * 256 + bytes[at + k];
  return { value: n, length };
}

/** The children of the element whose payload is [from, to) (to null: unknown size). */
async function* elements(source, from, to) {
  let at = from;
  const end = to ?? source.size;
  while (at < end) {
    const head = elementHeader(await source.read(at, 12));
    if (head === null) return;
    if (to === null && at > from && SEGMENT_LEVEL.has(head.id) && head.id !== ID.cluster) {
      return;
    }
    const start = at + head.length;
    const size = head.size ?? null;
    const stop = size === null ? null : start + size;
    yield { id: head.id, start, end: stop, at };
    if (stop === null) return; // the caller reads an unknown-sized child to its end
    at = stop;
  }
}

async function payload(source, element) {
  return (await source.read(element.start, element.end - element.start)).slice();
}

/** A VP9 profile from a keyframe's uncompressed header (frame marker, then 2 profile bits). */
function vp9Profile(frame) {
  return ((frame[0] >> 5) & 1) | (((frame[0] >> 4) & 1) << 1);
}

async function demuxWebm(source) {
  const root = elementHeader(await source.read(0, 12));
  let segment = null;
  for await (const el of elements(source, 0, source.size)) {
    if (el.id === ID.segment) {
      segment = el;
      break;
    }
  }
  if (!segment || !root) throw new Unsupported("no Matroska segment");
  let scale = 1000000;
  let track = null;
  const samples = [];
  let segmentEnd = segment.end;
  let at = segment.start;
  while (at < (segmentEnd ?? source.size)) {
    const head = elementHeader(await source.read(at, 12));
    if (head === null) break;
    const start = at + head.length;
    const end = head.size === null ? null : start + head.size;
    if (head.id === ID.info && end !== null) {
      for await (const el of elements(source, start, end)) {
        if (el.id === ID.timecodeScale) scale = uint(await payload(source, el));
      }
    } else if (head.id === ID.tracks && end !== null) {
      for await (const entry of elements(source, start, end)) {
        if (entry.id !== ID.trackEntry || track) continue;
        const t = { number: 0, type: 0, codecId: "", privateData: null, width: 0, height: 0, encoded: false };
        for await (const el of elements(source, entry.start, entry.end)) {
          if (el.id === ID.trackNumber) t.number = uint(await payload(source, el));
          else if (el.id === ID.trackType) t.type = uint(await payload(source, el));
          else if (el.id === ID.codecId) t.codecId = new TextDecoder().decode(await payload(source, el));
          else if (el.id === ID.codecPrivate) t.privateData = await payload(source, el);
          else if (el.id === ID.contentEncodings) t.encoded = true;
          else if (el.id === ID.video) {
            for await (const v of elements(source, el.start, el.end)) {
              if (v.id === ID.pixelWidth) t.width = uint(await payload(source, v));
              else if (v.id === ID.pixelHeight) t.height = uint(await payload(source, v));
            }
          }
        }
        if (t.type === 1) track = t;
      }
      if (!track) throw new Unsupported("no video track");
      if (track.encoded) throw new Unsupported("compressed or encrypted Matroska blocks");
    } else if (head.id === ID.cluster) {
      if (!track) throw new Unsupported("a cluster before the tracks");
      at = await readCluster(source, start, end, track, samples);
      if (samples.length > MAX_SAMPLES) throw new Unsupported("more blocks than a video can have");
      continue;
    }
    if (end === null) {
      if (head.id === ID.segment) {
        at = start;
        continue;
      }
      throw new Unsupported("an element of unknown size");
    }
    at = end;
  }
  if (!track) throw new Unsupported("no video track");
  const codec = {
    V_VP8: "vp8",
    V_VP9: null,
    "V_MPEG4/ISO/AVC": null,
    V_AV1: track.privateData ? av1Codec(track.privateData) : null,
  }[track.codecId];
  if (codec === undefined) throw new Unsupported(`no WebCodecs path for ${track.codecId}`);
  let config;
  if (track.codecId === "V_VP9") {
    const first = samples.find((s) => s.key);
    const head = first ? await source.read(first.offset, 1) : new Uint8Array([0]);
    const profile = vp9Profile(head);
    config = { codec: `vp09.${dec2(profile)}.10.${profile >= 2 ? "10" : "08"}` };
  } else if (track.codecId === "V_MPEG4/ISO/AVC") {
    const p = track.privateData;
    if (!p || p.length < 4) throw new Unsupported("an H.264 track without CodecPrivate");
    config = { codec: `avc1.${hex2(p[1])}${hex2(p[2])}${hex2(p[3])}`, description: p };
  } else if (track.codecId === "V_AV1") {
    if (!codec) throw new Unsupported("an AV1 track without CodecPrivate");
    config = { codec, description: track.privateData };
  } else {
    config = { codec };
  }
  // Block times are in TimecodeScale nanoseconds: ticks of a 1e9 / scale Hz clock.
  return {
    ...config,
    width: track.width,
    height: track.height,
    rotation: 0,
    timescale: 1e9 / scale,
    samples,
  };
}

/** The video blocks of one cluster into `samples`; returns where the cluster ends. */
async function readCluster(source, start, end, track, samples) {
  let base = 0;
  let at = start;
  const stop = end ?? source.size;
  while (at < stop) {
    const head = elementHeader(await source.read(at, 12));
    if (head === null) return source.size;
    if (end === null && SEGMENT_LEVEL.has(head.id)) return at;
    if (head.size === null) throw new Unsupported("a block of unknown size");
    const from = at + head.length;
    const to = from + head.size;
    if (head.id === ID.timecode) {
      base = uint(await payload(source, { start: from, end: to }));
    } else if (head.id === ID.simpleBlock) {
      const bytes = await source.read(from, Math.min(16, head.size));
      const sample = block(bytes, from, head.size, base, track);
      if (sample) samples.push({ ...sample, key: (bytes[sample.flagsAt] & 0x80) !== 0 });
    } else if (head.id === ID.blockGroup) {
      let found = null;
      let referenced = false;
      for await (const el of elements(source, from, to)) {
        if (el.id === ID.block) {
          const bytes = await source.read(el.start, Math.min(16, el.end - el.start));
          found = block(bytes, el.start, el.end - el.start, base, track);
        } else if (el.id === ID.referenceBlock) {
          referenced = true;
        }
      }
      if (found) samples.push({ ...found, key: !referenced });
    }
    at = to;
  }
  return stop;
}

/** One block of the video track: where its frame lies and its time; null for other tracks. */
function block(bytes, from, size, base, track) {
  const number = vint(bytes, 0);
  if (number.value !== track.number) return null;
  const flagsAt = number.length + 2;
  const relative = (bytes[number.length] << 24) >> 16 | bytes[number.length + 1];
  if (bytes[flagsAt] & 0x06) throw new Unsupported("laced video blocks");
  const header = flagsAt + 1;
  return { offset: from + header, size: size - header, pts: base + relative, flagsAt };
}

// ---------------------------------------------------------------------------------------

/** The video track of `blob` ({codec, description?, width, height, rotation (clockwise
 * degrees a player turns it), timescale, samples}): samples in decode order, each {offset,
 * size, pts (ticks of timescale), key}. */
export async function demux(blob) {
  const source = new Source(blob);
  const head = await source.read(0, 12);
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) {
    return demuxWebm(source);
  }
  return demuxMp4(source);
}

/** The bytes of samples, read one span at a time (samples of one GOP usually lie together). */
export async function readSamples(blob, samples) {
  const first = Math.min(...samples.map((s) => s.offset));
  const last = Math.max(...samples.map((s) => s.offset + s.size));
  if (last - first <= 64 << 20) {
    const span = new Uint8Array(await blob.slice(first, last).arrayBuffer());
    return samples.map((s) => span.subarray(s.offset - first, s.offset - first + s.size));
  }
  return Promise.all(
    samples.map(async (s) => new Uint8Array(await blob.slice(s.offset, s.offset + s.size).arrayBuffer())),
  );
}
