"""Video frame hashes: one PDQ hash per sampled second, decoding only what sampling needs.

Sampling: for each time ``k / fps`` (k = 0, 1, ...) the sampled frame is the first frame
whose timestamp is at or after it (within half a frame interval, to absorb rounding); a
frame serves one sample at most. The result is the same as decoding every frame, but
cheaper: a first pass reads only packet headers (timestamps, keyframe flags), then the
second pass sends the decoder just the packets a sampled frame depends on. In each group
of pictures (GOP: a keyframe and what follows it in decode order) that means nothing when
no sample falls in it, the keyframe alone when the only sample is the keyframe (phone
cameras put one every second), otherwise the packets up to the last sampled one, of which
the decoder skips the non-reference pictures (no other frame uses them) that are not sampled
(H.264 and MPEG-1/2/4, where that is exact).
"""

from __future__ import annotations

import bisect
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np
import numpy.typing as npt

from rescind.media.errors import (
    CorruptMedia,
    MediaTimeout,
    MediaTooLarge,
    NoVideoStream,
    UnsupportedMedia,
)
from rescind.media.limits import DEFAULT_LIMITS, MediaLimits, within_decode_memory
from rescind.media.pdq import (
    MIN_HASHABLE_DIM,
    PdqHash,
    axis_weights,
    hamming_distance,
    hashes_from_64,
    luma_to_64,
)
from rescind.media.robust_sparse import is_plain
from rescind.media.sniff import sniff
from rescind.media.video_bars import Box, decide_bars, measure_bars

# Consecutive frame hashes this close are one shot: kept once, with its end time.
DUPLICATE_BITS = 8
# Planar 8-bit YUV formats whose first plane is the luma we hash, as stored.
_YUV8 = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21"}
_MAX_BAD_PACKETS = 1000
# Keyframes decoded to measure a video's bars (spread over its length; each decodes alone).
BAR_PROBES = 9
# When fewer than half the keyframes show picture, one frame a second of the video's first
# seconds is measured instead (decoded in order), if this many of them show picture.
BAR_LEADING_SECONDS = 20.0
BAR_LEADING_MIN = 3
# Decoders whose "non-reference" pictures no other picture uses, so skipping them
# (AVDISCARD_NONREF) is exact. Not HEVC: there a sub-layer non-reference picture may still
# be used by pictures of higher temporal sub-layers.
_NONREF_EXACT = {"h264", "mpeg1video", "mpeg2video", "mpeg4"}

VideoSource = str | Path | bytes


@dataclass(frozen=True)
class _Packet:
    pts: int | None
    key: bool


@dataclass
class _Plan:
    """Which packets (by decode-order position) to decode, and which frames to hash."""

    send: list[bool]
    wanted: set[int]  # pts of the sampled frames not yet seen
    start: int  # pts of the first frame shown: time 0
    moment: dict[int, float]  # pts of a neighbour frame -> time of the sample it stands by


class _Budget:
    """Wall-clock cap for one video."""

    def __init__(self, limits: MediaLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_wall_seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise MediaTimeout(
                f"video took longer than {self.limits.max_wall_seconds:g} s to decode"
            )


def _open(source: VideoSource, fmt: str) -> Any:
    """Open a container with one named demuxer: no probing, no playlists or external files."""
    target: Any = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        return av.open(target, mode="r", format=fmt, metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise CorruptMedia(f"cannot read video container: {exc.strerror or exc}") from None


def _video_stream(container: Any, limits: MediaLimits) -> Any:
    streams = container.streams.video
    if not streams:
        raise NoVideoStream("the file has no video stream (audio only or empty)")
    stream = streams[0]
    ctx = stream.codec_context
    if ctx is None:
        raise CorruptMedia("the video stream's codec is unknown or unreadable")
    if ctx.width and ctx.height and ctx.width * ctx.height > limits.max_frame_pixels:
        raise MediaTooLarge(f"video frames are {ctx.width}x{ctx.height}; too large")
    if container.duration is not None and container.duration / 1e6 > limits.max_video_seconds:
        raise MediaTooLarge(
            f"video lasts {container.duration / 1e6:.0f} s; the limit is "
            f"{limits.max_video_seconds:g} s"
        )
    # The decoder itself refuses larger frames, even where the container header lied.
    ctx.options = {"max_pixels": str(limits.max_frame_pixels)}
    # One thread: the server hashes many uploads at once, and the figure we promise is per core.
    stream.thread_type = "NONE"
    return stream


# Peak memory of hashing a video (`decode_cost`), from its header: the decoder's frames
# (H.264/HEVC keep at most 16 reference frames, and never more than their largest level's
# picture buffer, ~224 M pixels; VP9/AV1 8), plus 8 more for reordering (B-frames), the
# frame being output and its conversion, the hashing buffers of one frame, and the packet
# index of the first pass (timestamps, keyframe flags, the plan). Typical streams (1-4
# references) measure a quarter of it; x264 with 16 references and 16 B-frames 0.85 of it
# (docs/benchmarks.md, "Decode budget").
VIDEO_BASE_BYTES = 16 * 1024**2
_MAX_REFERENCE_FRAMES = 16
_MAX_DPB_PIXELS = 224_000_000
_WORKING_FRAMES = 8
_HASH_BYTES_PER_PIXEL = 8
_PACKET_INDEX_BYTES = 400
# Frame size assumed when a container does not state it (the decoder still refuses frames
# over `max_frame_pixels`).
_UNSTATED_FRAME_PIXELS = 3840 * 2160


def _frame_bytes_per_pixel(pix_fmt: str | None) -> float:
    if pix_fmt is None or pix_fmt in ("yuv420p", "yuvj420p", "nv12", "nv21"):
        return 1.5
    if any(depth in pix_fmt for depth in ("9", "10", "12", "14", "16")):
        return 6.0  # up to 16 bits a sample, 4:4:4
    return 4.0  # other 8-bit layouts: 4:2:2, 4:4:4, RGB(A)


def _stream_cost(container: Any, stream: Any, data_size: int) -> int:
    ctx = stream.codec_context
    pixels = (ctx.width * ctx.height) if ctx.width and ctx.height else _UNSTATED_FRAME_PIXELS
    fmt = getattr(ctx, "format", None)
    per_pixel = _frame_bytes_per_pixel(getattr(fmt, "name", None))
    kept = min(_MAX_REFERENCE_FRAMES, max(1, _MAX_DPB_PIXELS // pixels)) + _WORKING_FRAMES
    frames = int(stream.frames or 0)
    if frames <= 0:
        rate = float(stream.average_rate or stream.guessed_rate or 60)
        seconds = (container.duration or 0) / 1e6
        frames = int(seconds * rate) if seconds > 0 else data_size // 1024
    return int(
        VIDEO_BASE_BYTES
        + pixels * (per_pixel * kept + _HASH_BYTES_PER_PIXEL)
        + frames * _PACKET_INDEX_BYTES
    )


def video_decode_cost(source: VideoSource, limits: MediaLimits = DEFAULT_LIMITS) -> int:
    """Estimated peak bytes of hashing a video (`hash_video_views`), from its container's
    header: no frame is decoded. Raises :class:`MediaTooLarge` over
    ``limits.max_decode_bytes`` (or another header limit), as `hash_video_views` does."""
    head = source[:64] if isinstance(source, bytes) else _read_head(Path(source))
    sniffed = sniff(head)
    if sniffed is None or sniffed.kind != "video":
        raise UnsupportedMedia("not a supported video container (MP4, MOV, MKV, WebM, AVI)")
    size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
    with _open(source, sniffed.format) as container:
        stream = _video_stream(container, limits)
        return within_decode_memory(_stream_cost(container, stream, size), limits, "video")


def _demux(container: Any, stream: Any, budget: _Budget) -> Iterator[Any]:
    """Packets of the stream that carry data; a damaged tail ends the stream, as players do."""
    try:
        for packet in container.demux(stream):
            budget.check()
            if packet.size:
                yield packet
    except av.error.FFmpegError:
        return


def _scan(container: Any, stream: Any, limits: MediaLimits, budget: _Budget) -> list[_Packet]:
    packets: list[_Packet] = []
    # The duration cap in time-base ticks: integer compares, no Fraction per packet.
    max_ticks = limits.max_video_seconds / float(stream.time_base or 1)
    first: int | None = None
    for packet in _demux(container, stream, budget):
        if len(packets) >= limits.max_video_frames:
            raise MediaTooLarge(f"video has more than {limits.max_video_frames} frames")
        pts = packet.pts
        if pts is not None:
            first = pts if first is None else min(first, pts)
            if pts - first > max_ticks:
                raise MediaTooLarge(f"video lasts more than {limits.max_video_seconds:g} s")
        packets.append(_Packet(pts, bool(packet.is_keyframe)))
    return packets


def select_samples(times: list[float], fps: float) -> list[int]:
    """Indices (into ``times``, sorted ascending) of the frames sampled at ``fps``."""
    if not times:
        return []
    gaps = np.diff(np.asarray(times))
    gaps = gaps[gaps > 0]
    tolerance = min(float(np.median(gaps)) / 2 if gaps.size else 0.0, 0.5 / fps)
    chosen: list[int] = []
    next_k = 0
    for i, t in enumerate(times):
        if t >= next_k / fps - tolerance:
            chosen.append(i)
            next_k = int(np.floor((t + tolerance) * fps)) + 1
    return chosen


def snap_to_keyframes(
    times: list[float], keys: list[bool], chosen: list[int], window: float
) -> list[int]:
    """Move each sample to the nearest keyframe within ``window`` seconds, keeping the order.

    A keyframe decodes on its own, so a video whose keyframes sit near the sampled seconds
    (e.g. 29.97 fps with one every 30 frames, which drifts off whole seconds) then needs
    nothing else decoded. Each sample stays within ``window`` of its second.
    """
    key_at = [i for i, key in enumerate(keys) if key]
    key_times = [times[i] for i in key_at]
    out: list[int] = []
    for n, index in enumerate(chosen):
        low = out[-1] if out else -1
        high = chosen[n + 1] if n + 1 < len(chosen) else len(times)
        best = index
        pos = bisect.bisect_left(key_times, times[index] - window)
        while pos < len(key_at) and key_times[pos] <= times[index] + window:
            candidate = key_at[pos]
            closer = abs(times[candidate] - times[index]) < abs(times[best] - times[index])
            if low < candidate < high and (best == index or closer):
                best = candidate
            pos += 1
        out.append(best)
    return out


def _plan(
    packets: list[_Packet],
    fps: float,
    tb: Fraction,
    keyframe_window: float = 0.0,
    neighbours: int = 0,
) -> _Plan | None:
    """What to decode for sampling at ``fps``; None when packets lack timestamps.

    With ``neighbours``, that many frames either side of each sample (in display order)
    are decoded too and stand for the sample's moment.
    """
    if not packets or any(p.pts is None for p in packets):
        return None
    pts = [int(p.pts) for p in packets if p.pts is not None]
    order = sorted(range(len(packets)), key=lambda i: pts[i])
    start = pts[order[0]]
    seconds_per_tick = float(tb)
    times = [(pts[i] - start) * seconds_per_tick for i in order]
    samples = select_samples(times, fps)
    if keyframe_window > 0:
        keys = [packets[i].key for i in order]
        samples = snap_to_keyframes(times, keys, samples, min(keyframe_window, 0.5 / fps))
    chosen = {order[j] for j in samples}
    moment: dict[int, float] = {}
    for j in samples:
        for k in range(max(0, j - neighbours), min(len(order), j + neighbours + 1)):
            if k != j and order[k] not in chosen:
                moment.setdefault(pts[order[k]], times[j])
    chosen |= {i for i in range(len(packets)) if pts[i] in moment}

    gop = []
    starts: list[int] = []  # ordinal of each GOP's first packet
    for i, p in enumerate(packets):
        if p.key or not starts:
            starts.append(i)
        gop.append(len(starts) - 1)
    last = [-1] * len(starts)
    for i in chosen:
        last[gop[i]] = max(last[gop[i]], i)
    for i in chosen:
        g = gop[i]
        # Open GOPs: a picture shown before its keyframe may use the previous GOP's frames.
        if g > 0 and pts[i] < pts[starts[g]]:
            last[g - 1] = starts[g] - 1
    send = [i <= last[gop[i]] for i in range(len(packets))]
    return _Plan(send, {pts[i] for i in chosen}, start, moment)


def _luma(frame: Any) -> tuple[npt.NDArray[np.uint8], bool]:
    """The frame's luma plane and whether it is full range (else 16-235, as most video)."""
    full = frame.format.name.startswith("yuvj") or frame.color_range == 2
    if frame.format.name not in _YUV8:
        try:
            frame = frame.reformat(format="yuv420p")
        except av.error.FFmpegError:
            # swscale refuses a colour matrix it does not know, as a damaged or hostile header
            # may name. Luma does not depend on it: convert as BT.709 on both sides, so a
            # flipped header byte does not keep a video from being hashed (and matched).
            try:
                frame = frame.reformat(
                    format="yuv420p", src_colorspace="ITU709", dst_colorspace="ITU709"
                )
            except av.error.FFmpegError:
                raise CorruptMedia(
                    f"cannot convert a {frame.width}x{frame.height} {frame.format.name} video frame"
                ) from None
        full = False
    plane = frame.planes[0]
    rows = np.frombuffer(plane, dtype=np.uint8, count=plane.height * plane.line_size)
    luma = rows.reshape(plane.height, plane.line_size)[:, : plane.width]
    # Phones store portrait video sideways plus a display matrix; hash what a player shows.
    # FFmpeg reports the rotation counter-clockwise, as np.rot90 turns.
    turns = round((frame.rotation or 0) / 90) % 4
    return (np.rot90(luma, turns) if turns else luma), full


def _hash_frame(
    frame: Any, t: float, limits: MediaLimits, bars: Box | None = None, halves: bool = False
) -> dict[str, PdqHash]:
    """The frame's hash (``full``) and its other views: inside ``bars`` when they cut it
    (``trimmed``), and with ``halves`` each half of the picture (``top``, ``bottom``,
    ``left``, ``right``: a logo or caption over one part leaves the opposite half clean)."""
    if frame.width * frame.height > limits.max_frame_pixels:
        raise MediaTooLarge(f"video frame is {frame.width}x{frame.height}; too large")
    if frame.height < MIN_HASHABLE_DIM or frame.width < MIN_HASHABLE_DIM:
        return {"full": PdqHash("0" * 64, 0, t=t)}  # nothing to hash (and too small to convert)
    luma, full_range = _luma(frame)
    buffer = _buffer(luma, full_range)
    views = {"full": _hash_buffer(buffer, t)}
    inner = bars.crop(luma) if bars is not None else None
    if inner is not None and min(inner.shape) >= MIN_HASHABLE_DIM:
        buffer = _buffer(inner, full_range)
        views["trimmed"] = _hash_buffer(buffer, t)
    # Judged on the picture inside its bars: a photo on wide bars is not plain.
    plain = is_plain(buffer)
    picture = luma if inner is None else inner
    height, width = picture.shape
    if halves and min(height // 2, width // 2) >= MIN_HASHABLE_DIM:
        for name, part in (
            ("top", picture[: height // 2]),
            ("bottom", picture[height - height // 2 :]),
            ("left", picture[:, : width // 2]),
            ("right", picture[:, width - width // 2 :]),
        ):
            half = _hash_luma(part, full_range, t)
            # A flat half (a wall, a dark scene) hashes to noise that matches anything alike.
            if not half.low_quality:
                views[name] = half
    if plain:
        views = {name: replace(h, plain=True) for name, h in views.items()}
    return views


def _buffer(luma: npt.NDArray[np.uint8], full_range: bool) -> npt.NDArray[np.float32]:
    """The 64x64 PDQ buffer of a luma plane, on the 0-255 scale."""
    height, width = luma.shape
    rows = axis_weights(height, 1, height, False)
    cols = axis_weights(width, 1, width, False)
    buffer = luma_to_64(luma, rows, cols)
    if not full_range:
        # Stretch 16-235 to 0-255 so quality matches an RGB decode (bits do not change).
        buffer = (buffer - 16.0) * np.float32(255.0 / 219.0)
    return buffer


def _hash_buffer(buffer: npt.NDArray[np.float32], t: float) -> PdqHash:
    first = hashes_from_64(buffer)
    return PdqHash(first.hash, first.quality, t=t)


def _hash_luma(luma: npt.NDArray[np.uint8], full_range: bool, t: float) -> PdqHash:
    return _hash_buffer(_buffer(luma, full_range), t)


def _decode(
    container: Any,
    stream: Any,
    plan: _Plan | None,
    limits: MediaLimits,
    budget: _Budget,
) -> Iterator[Any]:
    """Frames decoded from the packets the plan selects (all without a plan)."""
    codec = stream.codec_context
    bad = 0
    decoded = 0
    skipping = False
    may_skip = plan is not None and codec.name in _NONREF_EXACT
    for ordinal, packet in enumerate(_demux(container, stream, budget)):
        if plan is not None:
            if ordinal >= len(plan.send) or not plan.send[ordinal]:
                continue
            # A packet whose frame is not sampled is decoded only for the frames that
            # reference it: if it is a non-reference picture (e.g. most B-frames), none
            # do, and the decoder may drop it unread. Exact: nothing else depends on it.
            skip = may_skip and packet.pts not in plan.wanted
            if skip != skipping:
                codec.skip_frame = "NONREF" if skip else "DEFAULT"
                skipping = skip
        try:
            frames = codec.decode(packet)
        except av.error.FFmpegError:
            bad += 1
            if bad > _MAX_BAD_PACKETS:
                raise CorruptMedia("too many undecodable video packets") from None
            continue
        for frame in frames:
            decoded += 1
            if decoded > limits.max_video_frames:
                raise MediaTooLarge(f"video has more than {limits.max_video_frames} frames")
            yield frame
    try:
        yield from codec.decode(None)
    except av.error.FFmpegError:
        return


def collapse_duplicates(hashes: list[PdqHash], max_bits: int = DUPLICATE_BITS) -> list[PdqHash]:
    """Merge runs of consecutive near-identical frame hashes into their first, with ``t_end``."""
    out: list[PdqHash] = []
    for h in hashes:
        if out and hamming_distance(out[-1].hash, h.hash) <= max_bits:
            out[-1] = replace(out[-1], t_end=h.t)
        else:
            out.append(h)
    return out


@dataclass(frozen=True)
class VideoHashes:
    """A video's frame hashes, and other views of the same frames (same times).

    ``views`` maps a view's name (see `_hash_frame`) to its hashes, one per sampled frame
    that has it: ``trimmed`` only when the video has letterbox or pillarbox bars (``bars``).
    """

    frames: list[PdqHash]
    views: dict[str, list[PdqHash]]
    bars: Box

    @property
    def trimmed(self) -> list[PdqHash]:
        """The frames hashed inside their bars (empty without bars)."""
        return self.views.get("trimmed", [])


def hash_video(
    source: VideoSource,
    *,
    fps: float = 1.0,
    limits: MediaLimits = DEFAULT_LIMITS,
    collapse: bool = True,
    keyframe_window: float = 0.0,
) -> list[PdqHash]:
    """PDQ hashes of a video's frames sampled at ``fps`` per second, each with its time ``t``.

    ``source`` is a path or the file's bytes. With ``collapse``, consecutive near-duplicate
    frames are kept once, with ``t_end`` set to the last one's time. By default the sample
    for second k is the first frame at k; a ``keyframe_window`` (seconds, at most half the
    sampling interval) lets a keyframe that near stand in for it, which is much cheaper to
    decode when keyframes drift off whole seconds.
    """
    return hash_video_views(
        source,
        fps=fps,
        limits=limits,
        collapse=collapse,
        keyframe_window=keyframe_window,
        trim_bars=False,
    ).frames


def hash_video_views(
    source: VideoSource,
    *,
    fps: float = 1.0,
    limits: MediaLimits = DEFAULT_LIMITS,
    collapse: bool = True,
    keyframe_window: float = 0.0,
    trim_bars: bool = True,
    halves: bool = False,
    neighbours: int = 0,
) -> VideoHashes:
    """`hash_video`'s frames and, with ``trim_bars``, the frames inside the video's bars.

    The bars are measured once, on up to `BAR_PROBES` keyframes spread over the video (see
    `rescind.media.video_bars`), before the frames are hashed; each sampled frame is then
    decoded once and hashed once per view. ``halves`` adds the four half-picture views.
    Duplicates collapse within each view separately.
    """
    if not fps > 0 or fps > 120:
        raise ValueError(f"fps must be in (0, 120], got {fps}")
    head = source[:64] if isinstance(source, bytes) else _read_head(Path(source))
    sniffed = sniff(head)
    if sniffed is None or sniffed.kind != "video":
        raise UnsupportedMedia("not a supported video container (MP4, MOV, MKV, WebM, AVI)")
    budget = _Budget(limits)
    size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
    with _open(source, sniffed.format) as container:
        stream = _video_stream(container, limits)
        within_decode_memory(_stream_cost(container, stream, size), limits, "video")
        tb = stream.time_base or Fraction(1, 1)
        packets = _scan(container, stream, limits, budget)
        plan = _plan(packets, fps, tb, keyframe_window, neighbours)
    bars = Box()
    if trim_bars:
        with _open(source, sniffed.format) as container:
            stream = _video_stream(container, limits)
            measured = _measure_bars(container, stream, packets, limits, budget)
        if measured is None:
            # Too few keyframes showed picture (a short video whose one keyframe is its
            # black or faded first frame): measure its first seconds, decoded in order.
            with _open(source, sniffed.format) as container:
                stream = _video_stream(container, limits)
                measured = _leading_bars(container, stream, limits, budget)
        bars = measured
    with _open(source, sniffed.format) as container:
        stream = _video_stream(container, limits)
        hashes = _hash_frames(container, stream, plan, fps, limits, budget, bars, halves)
    if not hashes and plan is not None:
        # Frames came out without the packets' timestamps: sample by position instead.
        with _open(source, sniffed.format) as container:
            stream = _video_stream(container, limits)
            hashes = _hash_frames(container, stream, None, fps, limits, budget, bars, halves)
    if not hashes:
        raise CorruptMedia("no video frame could be decoded")
    views: dict[str, list[PdqHash]] = {}
    for sample in hashes:
        for name, h in sample.items():
            views.setdefault(name, []).append(h)
    if collapse:
        views = {name: collapse_duplicates(hs) for name, hs in views.items()}
    frames = views.pop("full")
    return VideoHashes(frames, views, bars if "trimmed" in views else Box())


def _measure_bars(
    container: Any, stream: Any, packets: list[_Packet], limits: MediaLimits, budget: _Budget
) -> Box | None:
    """The video's bars, from up to `BAR_PROBES` keyframes spread over it (decoded alone);
    None when fewer than half of them could be measured (black, faded, flat)."""
    keys = [i for i, p in enumerate(packets) if p.key]
    if not keys:
        return Box()
    picks = {keys[round(j)] for j in np.linspace(0, len(keys) - 1, min(BAR_PROBES, len(keys)))}
    boxes = []
    codec = stream.codec_context
    for ordinal, packet in enumerate(_demux(container, stream, budget)):
        if ordinal > max(picks):
            break
        if ordinal not in picks:
            continue
        try:
            frames = codec.decode(packet)
        except av.error.FFmpegError:
            continue
        for frame in frames:
            if frame.width * frame.height > limits.max_frame_pixels:
                raise MediaTooLarge(f"video frame is {frame.width}x{frame.height}; too large")
            if min(frame.width, frame.height) >= MIN_HASHABLE_DIM:
                boxes.append(measure_bars(_luma(frame)[0]))
    try:
        for frame in codec.decode(None):
            if min(frame.width, frame.height) >= MIN_HASHABLE_DIM:
                boxes.append(measure_bars(_luma(frame)[0]))
    except av.error.FFmpegError:
        pass
    if sum(b is not None for b in boxes) * 2 < len(boxes):
        return None
    return decide_bars(boxes)


def _leading_bars(container: Any, stream: Any, limits: MediaLimits, budget: _Budget) -> Box:
    """The bars of one frame a second of the video's first `BAR_LEADING_SECONDS`, decoded in
    order; the frames that could be measured decide, if there are `BAR_LEADING_MIN`."""
    tb = stream.time_base or Fraction(1, 1)
    boxes: list[Box | None] = []
    start: int | None = None
    next_t = 0.0
    for frame in _decode(container, stream, None, limits, budget):
        if frame.pts is None or min(frame.width, frame.height) < MIN_HASHABLE_DIM:
            continue
        start = frame.pts if start is None else start
        t = float((frame.pts - start) * tb)
        if t > BAR_LEADING_SECONDS:
            break
        if t + 1e-6 < next_t:
            continue
        next_t = np.floor(t + 1e-6) + 1.0
        boxes.append(measure_bars(_luma(frame)[0]))
    measured = [b for b in boxes if b is not None]
    return decide_bars(measured) if len(measured) >= BAR_LEADING_MIN else Box()


def _hash_frames(
    container: Any,
    stream: Any,
    plan: _Plan | None,
    fps: float,
    limits: MediaLimits,
    budget: _Budget,
    bars: Box,
    halves: bool,
) -> list[dict[str, PdqHash]]:
    """Hash sampled frames as they come out of the decoder (memory stays one frame)."""
    tb = stream.time_base or Fraction(1, 1)
    rate = float(stream.average_rate or stream.guessed_rate or 25)
    hashes: list[dict[str, PdqHash]] = []
    next_k = 0
    tolerance = min(0.5 / rate, 0.5 / fps)
    for index, frame in enumerate(_decode(container, stream, plan, limits, budget)):
        if plan is not None:
            if frame.pts not in plan.wanted:
                continue
            plan.wanted.discard(frame.pts)
            t = plan.moment.get(frame.pts, float((frame.pts - plan.start) * tb))
        else:
            # No usable timestamps: sample by frame position at the stream's nominal rate.
            t = index / rate
            if t < next_k / fps - tolerance:
                continue
            next_k = int(np.floor((t + tolerance) * fps)) + 1
        if len(hashes) >= limits.max_samples:
            raise MediaTooLarge(f"video needs more than {limits.max_samples} frame hashes")
        # A neighbour frame gets the views that absorb a shift, not the half-picture ones.
        neighbour = plan is not None and frame.pts in plan.moment
        hashes.append(_hash_frame(frame, round(t, 3), limits, bars, halves and not neighbour))
    hashes.sort(key=lambda views: views["full"].t or 0.0)
    return hashes


def _read_head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(64)
