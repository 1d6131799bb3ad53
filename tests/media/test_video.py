"""Video hashing: one hash per second of content, in every container, from any GOP layout."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pdqhash
import pytest

from rescind.media import NoVideoStream, PdqHash, hamming_distance, hash_bytes, hash_video
from rescind.media.pdq import pdq_bits_to_hex
from rescind.media.video import collapse_duplicates, select_samples
from tests.media.conftest import VideoMaker


def naive(path: Path, fps: float = 1.0) -> list[tuple[float, str]]:
    """Decode every frame to RGB and hash the first frame at or after each k / fps."""
    out: list[tuple[float, str]] = []
    with av.open(str(path)) as container:
        frames = [(float(f.time), f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
    start = frames[0][0]
    k = 0
    for t, rgb in sorted(frames, key=lambda item: item[0]):
        if t - start >= k / fps - 1e-3:
            out.append((round(t - start, 3), pdq_bits_to_hex(pdqhash.compute(rgb)[0])))
            k = int((t - start + 1e-3) * fps) + 1
    return out


@pytest.mark.parametrize("gop", [None, 10, 25], ids=["x264-default", "gop-1s", "gop-2.5s"])
def test_samples_are_those_of_a_full_decode(make_video: VideoMaker, gop: int | None) -> None:
    path = make_video(seconds=6, fps=10, gop=gop)
    ours = hash_video(path, collapse=False)
    expected = naive(path)
    assert [h.t for h in ours] == [t for t, _ in expected] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    for h, (_, ref) in zip(ours, expected, strict=True):
        assert hamming_distance(h.hash, ref) <= 16
        assert h.quality >= 50


def test_fps_option_changes_the_sampling(make_video: VideoMaker) -> None:
    path = make_video(seconds=3, fps=10)
    assert [h.t for h in hash_video(path, fps=2, collapse=False)] == [
        0.0,
        0.5,
        1.0,
        1.5,
        2.0,
        2.5,
    ]
    assert [h.t for h in hash_video(path, fps=0.5, collapse=False)] == [0.0, 2.0]


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("clip.mp4", "libx264"),
        ("clip.mov", "libx264"),
        ("clip.mkv", "libx264"),
        ("clip.webm", "libvpx-vp9"),
        ("vp8.webm", "libvpx"),
        ("clip.avi", "mpeg4"),
    ],
)
def test_every_container_is_hashed(make_video: VideoMaker, name: str, codec: str) -> None:
    path = make_video(name=name, codec=codec, seconds=3, fps=10)
    hashes = hash_video(path, collapse=False)
    assert [h.t for h in hashes] == [0.0, 1.0, 2.0]
    expected = naive(path)
    assert all(
        hamming_distance(h.hash, ref) <= 16 for h, (_, ref) in zip(hashes, expected, strict=True)
    )
    # Frames a second apart differ: the sampler did not hash one frame three times.
    assert len({h.hash for h in hashes}) == 3


def test_bytes_and_path_give_the_same_result(make_video: VideoMaker) -> None:
    path = make_video(seconds=2)
    from_bytes = hash_bytes(path.read_bytes())
    assert from_bytes.kind == "video"
    assert from_bytes.pdq == hash_video(path)


def test_static_video_collapses_to_one_entry_with_its_span(make_video: VideoMaker) -> None:
    path = make_video(seconds=4, fps=10, static=True)
    [only] = hash_video(path)
    assert only.t == 0.0
    assert only.t_end == 3.0
    assert only.to_dict()["t_end"] == 3.0


def test_collapse_keeps_distinct_frames_apart() -> None:
    a, b = "0" * 64, "f" * 64
    near_a = "3" + "0" * 63  # 2 bits from a
    frames = [PdqHash(a, 90, t=0.0), PdqHash(near_a, 90, t=1.0), PdqHash(b, 90, t=2.0)]
    assert collapse_duplicates(frames) == [
        PdqHash(a, 90, t=0.0, t_end=1.0),
        PdqHash(b, 90, t=2.0),
    ]


def test_audio_only_file_has_no_video_stream(make_video: VideoMaker, tmp_path: Path) -> None:
    from tests.media.conftest import write_video

    path = write_video(tmp_path / "sound.mp4", [], 10, audio=True)
    with pytest.raises(NoVideoStream, match="no video stream"):
        hash_video(path)


def test_video_with_audio_is_hashed_from_its_video(make_video: VideoMaker) -> None:
    path = make_video(name="talk.mkv", seconds=2, audio=True)
    assert [h.t for h in hash_video(path, collapse=False)] == [0.0, 1.0]


def test_select_samples_handles_irregular_timestamps() -> None:
    # 29.97 fps timestamps: the frame at 1.001 s serves the sample at 1 s.
    times = [i * 1001 / 30000 for i in range(91)]
    assert [round(times[i], 3) for i in select_samples(times, 1.0)] == [0.0, 1.001, 2.002, 3.003]
    # A gap longer than a second: one frame never serves two samples.
    assert select_samples([0.0, 0.5, 3.0, 3.5], 1.0) == [0, 2]
    assert select_samples([], 1.0) == []


def test_low_quality_frames_are_flagged(make_video: VideoMaker, tmp_path: Path) -> None:
    from tests.media.conftest import write_video

    flat = [np.full((96, 128, 3), 128, dtype=np.uint8) for _ in range(20)]
    path = write_video(tmp_path / "flat.mp4", flat, 10)
    [h] = hash_video(path)
    assert h.low_quality
    assert h.to_dict()["low_quality"] is True


def test_plan_decodes_only_keyframes_when_they_fall_on_the_samples() -> None:
    from fractions import Fraction

    from rescind.media.video import _Packet, _plan

    # 10 fps, a keyframe every second: the sampled frames are exactly the keyframes.
    packets = [_Packet(i, i % 10 == 0) for i in range(40)]
    plan = _plan(packets, 1.0, Fraction(1, 10))
    assert plan is not None
    assert [i for i, send in enumerate(plan.send) if send] == [0, 10, 20, 30]
    assert plan.wanted == {0, 10, 20, 30}


def test_plan_stops_each_gop_after_its_last_sample() -> None:
    from fractions import Fraction

    from rescind.media.video import _Packet, _plan

    # 10 fps, keyframes every 2.5 s: GOP 0-24 needs frames 0, 10, 20; 21-24 are skipped.
    packets = [_Packet(i, i % 25 == 0) for i in range(50)]
    plan = _plan(packets, 1.0, Fraction(1, 10))
    assert plan is not None
    sent = [i for i, send in enumerate(plan.send) if send]
    assert sent == [*range(21), *range(25, 41)]


def test_plan_keeps_the_previous_gop_for_open_gop_leading_pictures() -> None:
    from fractions import Fraction

    from rescind.media.video import _Packet, _plan

    # Decode order with a leading B picture (pts 9) after the keyframe at pts 10: it may
    # reference GOP 0, so all of GOP 0 is decoded.
    pts = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11]
    packets = [_Packet(p, p in (0, 10)) for p in pts]
    plan = _plan(packets, 10 / 9, Fraction(1, 10))  # samples at 0, 0.9, 1.8 s
    assert plan is not None
    assert 9 in plan.wanted
    assert all(plan.send[:10])
    assert _plan([_Packet(None, True)], 1.0, Fraction(1, 10)) is None


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_display_rotation_is_applied(tmp_path: Path, rotation: int) -> None:
    from tests.media.conftest import moving_frames, write_video

    frames = moving_frames(2, 10, (160, 96))
    turns = rotation // 90
    upright = [np.ascontiguousarray(np.rot90(f, turns)) for f in frames]
    stored = write_video(tmp_path / "phone.mp4", frames, 10, rotation=rotation)
    shown = write_video(tmp_path / "upright.mp4", upright, 10)
    plain = write_video(tmp_path / "plain.mp4", frames, 10)
    ours = hash_video(stored, collapse=False)
    expected = hash_video(shown, collapse=False)
    unrotated = hash_video(plain, collapse=False)
    for got, want, raw in zip(ours, expected, unrotated, strict=True):
        assert hamming_distance(got.hash, want.hash) <= 16
        assert hamming_distance(got.hash, raw.hash) > 31


def test_keyframe_window_lets_drifting_keyframes_stand_in() -> None:
    from fractions import Fraction

    from rescind.media.video import _Packet, _plan, snap_to_keyframes

    # 29.97 fps, a keyframe every 30 frames: keyframes drift 1 ms per second off the seconds.
    packets = [_Packet(i * 1001, i % 30 == 0) for i in range(30 * 60)]
    exact = _plan(packets, 1.0, Fraction(1, 30000))
    snapped = _plan(packets, 1.0, Fraction(1, 30000), keyframe_window=0.5)
    assert exact is not None
    assert snapped is not None
    # Exact sampling needs whole GOPs once the drift passes half a frame; snapping does not.
    assert sum(exact.send) > 1000
    assert sum(snapped.send) < 100
    times = sorted(p / 30000 for p in snapped.wanted)
    assert len(times) == 61
    assert all(abs(t - k) <= 0.5 for k, t in enumerate(times))
    # Order is kept and a keyframe never serves two samples.
    assert snap_to_keyframes([0.0, 0.4, 0.8, 1.2], [True, False, False, False], [0, 2], 0.5) == [
        0,
        2,
    ]


def test_keyframe_window_on_a_real_file(make_video: VideoMaker) -> None:
    path = make_video(seconds=4, fps=10, gop=7)  # keyframes at 0, 0.7, 1.4, 2.1, 2.8, 3.5 s
    exact = hash_video(path, collapse=False)
    snapped = hash_video(path, collapse=False, keyframe_window=0.5)
    assert [h.t for h in exact] == [0.0, 1.0, 2.0, 3.0]
    assert [h.t for h in snapped] == [0.0, 0.7, 2.1, 2.8]


def _b_frame_video(path: Path, seconds: int, fps: int) -> Path:
    """x264 with B-frames (preset veryfast: 3 B-frames, pyramid): many non-reference frames."""
    from tests.media.conftest import moving_frames

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20", "bframes": "3"}
        stream.gop_size = 5 * fps
        for array in moving_frames(seconds, fps, (160, 120)):
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_unsampled_non_reference_frames_are_not_decoded(tmp_path: Path) -> None:
    from fractions import Fraction

    from rescind.media.limits import DEFAULT_LIMITS
    from rescind.media.video import _Budget, _decode, _open, _plan, _scan, _video_stream

    path = _b_frame_video(tmp_path / "b.mp4", seconds=5, fps=10)
    ours = hash_video(path, collapse=False)
    expected = naive(path)
    # Same frames as a full decode, and the same pictures: skipping is exact.
    assert [h.t for h in ours] == [t for t, _ in expected] == [0.0, 1.0, 2.0, 3.0, 4.0]
    for h, (_, ref) in zip(ours, expected, strict=True):
        assert hamming_distance(h.hash, ref) <= 16
    budget = _Budget(DEFAULT_LIMITS)
    with _open(path, "mp4") as container:
        stream = _video_stream(container, DEFAULT_LIMITS)
        tb = stream.time_base or Fraction(1, 1)
        plan = _plan(_scan(container, stream, DEFAULT_LIMITS, budget), 1.0, tb)
    assert plan is not None
    wanted = set(plan.wanted)
    with _open(path, "mp4") as container:
        stream = _video_stream(container, DEFAULT_LIMITS)
        decoded = [f.pts for f in _decode(container, stream, plan, DEFAULT_LIMITS, budget)]
    # Every sampled frame comes out, and fewer frames than the packets sent are decoded.
    assert wanted <= set(decoded)
    assert len(decoded) < sum(plan.send)
