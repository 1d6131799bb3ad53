"""`rescind hash`: one JSON object per input on stdout, errors per input, exit code 1."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from rescind.cli import app
from rescind.media import PdqHash, frames_from_hashes, hamming_distance, parse_vpdq
from tests.media.conftest import VideoMaker, encode, photo


def run(*args: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(app, ["hash", *args])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, lines, result.stderr


def test_hashes_images_and_videos_with_the_documented_fields(
    tmp_path: Path, make_video: VideoMaker
) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(encode(photo("coffee"), "PNG"))
    video = make_video(seconds=3)
    code, lines, _ = run(str(image), str(video))
    assert code == 0
    first, second = lines
    assert first["path"] == str(image)
    assert first["kind"] == "image"
    assert set(first) == {"path", "kind", "md5", "sha256", "pdq"}
    assert len(str(first["md5"])) == 32
    assert len(str(first["sha256"])) == 64
    [entry] = first["pdq"]  # type: ignore[misc]
    assert entry["orientation"] == "original"
    assert isinstance(entry["quality"], int)
    assert second["kind"] == "video"
    assert [e["t"] for e in second["pdq"]] == [0.0, 1.0, 2.0]  # type: ignore[attr-defined]


def test_dihedral_adds_seven_orientations_after_the_original(tmp_path: Path) -> None:
    image = tmp_path / "a.jpg"
    image.write_bytes(encode(photo("rocket"), "JPEG"))
    _, [plain], _ = run(str(image))
    _, [full], _ = run(str(image), "--dihedral")
    entries = full["pdq"]
    assert [e["orientation"] for e in entries] == [  # type: ignore[attr-defined]
        "original",
        "rot90",
        "rot180",
        "rot270",
        "flip_v",
        "flip_h",
        "transpose",
        "transverse",
    ]
    assert entries[0] == plain["pdq"][0]  # type: ignore[index]


def test_bad_inputs_get_an_error_and_exit_1_while_others_are_hashed(tmp_path: Path) -> None:
    (tmp_path / "b_good.png").write_bytes(encode(photo("camera"), "PNG"))
    (tmp_path / "a_empty.jpg").write_bytes(b"")
    (tmp_path / "c_notes.txt").write_text("not an image")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d_cut.jpg").write_bytes(encode(photo("camera"), "JPEG")[:500])
    code, lines, stderr = run(str(tmp_path), str(tmp_path / "missing.png"))
    assert code == 1
    names = [Path(str(line["path"])).name for line in lines]
    assert names == ["a_empty.jpg", "b_good.png", "c_notes.txt", "d_cut.jpg", "missing.png"]
    errors = {Path(str(line["path"])).name: line.get("error") for line in lines}
    assert errors == {
        "a_empty.jpg": "empty file (0 bytes)",
        "b_good.png": None,
        "c_notes.txt": "not a supported image or video format",
        "d_cut.jpg": errors["d_cut.jpg"],
        "missing.png": "no such file",
    }
    assert "cannot decode JPEG" in str(errors["d_cut.jpg"])
    assert "Traceback" not in stderr


def test_a_pipe_or_device_is_refused_not_read(tmp_path: Path) -> None:
    """Reading a named pipe would wait for a writer forever, and a device may never end."""
    fifo = tmp_path / "upload.jpg"
    os.mkfifo(fifo)
    (tmp_path / "good.png").write_bytes(encode(photo("camera"), "PNG"))
    code, lines, _ = run(str(fifo), "/dev/zero", str(tmp_path / "good.png"))
    assert code == 1
    assert [line.get("error") for line in lines] == ["not a regular file"] * 2 + [None]


def test_long_runs_keep_stdout_pure_json(tmp_path: Path) -> None:
    data = encode(photo("chelsea").resize((64, 48)), "PNG")
    for i in range(25):
        (tmp_path / f"{i:02}.png").write_bytes(data)
    code, lines, _ = run(str(tmp_path))
    assert code == 0
    assert len(lines) == 25
    hashes = {line["pdq"][0]["hash"] for line in lines}  # type: ignore[index]
    assert len(hashes) == 1


def test_fps_option_reaches_the_video_sampler(make_video: VideoMaker) -> None:
    video = make_video(seconds=2)
    _, [line], _ = run(str(video), "--fps", "2")
    assert [e["t"] for e in line["pdq"]] == [0.0, 0.5, 1.0, 1.5]  # type: ignore[attr-defined]
    code, _, _ = run(str(video), "--fps", "0")
    assert code == 2


def test_same_picture_in_two_formats_gives_near_hashes(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(encode(photo("astronaut"), "PNG"))
    (tmp_path / "x.webp").write_bytes(encode(photo("astronaut"), "WEBP", quality=90))
    _, [png, webp], _ = run(str(tmp_path))
    distance = hamming_distance(png["pdq"][0]["hash"], webp["pdq"][0]["hash"])  # type: ignore[index]
    assert distance <= 16


def test_vpdq_format_prints_a_videos_frames_as_vpdq_lines(make_video: VideoMaker) -> None:
    video = make_video(seconds=3)
    _, [line], _ = run(str(video))
    result = CliRunner().invoke(app, ["hash", "--format", "vpdq", str(video)])
    assert result.exit_code == 0, result.stderr
    frames = parse_vpdq(result.stdout)
    assert [f.frame_number for f in frames] == [0, 1, 2]
    assert [f.timestamp for f in frames] == [0.0, 1.0, 2.0]
    assert [(f.hash, f.quality) for f in frames] == [
        (e["hash"], e["quality"])
        for e in line["pdq"]  # type: ignore[attr-defined]
    ]
    assert result.stdout.splitlines()[0].endswith(",0.000")


def test_vpdq_writes_one_file_per_video_and_refuses_pictures(
    tmp_path: Path, make_video: VideoMaker
) -> None:
    video = make_video(seconds=2)
    image = tmp_path / "a.png"
    image.write_bytes(encode(photo("coffee"), "PNG"))
    many = CliRunner().invoke(app, ["hash", "--format", "vpdq", str(video), str(image)])
    assert many.exit_code == 2  # several files need --out-dir: lines carry no file name
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["hash", "--format", "vpdq", "--out-dir", str(out), str(video), str(image)]
    )
    assert result.exit_code == 1
    assert "picture" in result.stderr
    assert len(parse_vpdq((out / f"{video.name}.vpdq.txt").read_text())) == 2
    assert not (out / "a.png.vpdq.txt").exists()


def test_vpdq_lines_expand_a_collapsed_shot_to_every_sampled_second() -> None:
    still = PdqHash("ab" * 32, 90, t=1.0, t_end=3.0)
    frames = frames_from_hashes([PdqHash("cd" * 32, 80, t=0.0), still], fps=1.0)
    assert [(f.frame_number, f.timestamp) for f in frames] == [
        (0, 0.0),
        (1, 1.0),
        (2, 2.0),
        (3, 3.0),
    ]
    assert {f.hash for f in frames[1:]} == {"ab" * 32}
