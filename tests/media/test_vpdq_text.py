"""vPDQ's text lines: written as Meta's vpdqio writes them, parsed strictly."""

from __future__ import annotations

import pytest

from rescind.media import (
    MediaError,
    VpdqFormatError,
    VpdqFrame,
    format_vpdq,
    format_vpdq_line,
    parse_vpdq,
    parse_vpdq_line,
)

HASH = "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c"
OTHER = "c0f11178372c6aaccddea259648fbfd62f434c89c9e99b249772be216c8d055c"


def test_writes_frame_quality_hash_and_three_decimals() -> None:
    frames = [VpdqFrame(0, 100, HASH, 0.0), VpdqFrame(25, 98, OTHER.upper(), 1.0005)]
    assert format_vpdq(frames) == f"0,100,{HASH},0.000\n25,98,{OTHER},1.000\n"
    assert format_vpdq([]) == ""


def test_round_trip() -> None:
    frames = [VpdqFrame(i, 40 + i, HASH if i % 2 else OTHER, i * 0.5) for i in range(6)]
    assert parse_vpdq(format_vpdq(frames)) == frames


def test_parses_meta_style_files() -> None:
    text = f"0,100,{HASH},0.000\r\n1,80,{OTHER.upper()},1.033\r\n"  # CRLF, upper-case hex
    assert parse_vpdq(text) == [VpdqFrame(0, 100, HASH, 0.0), VpdqFrame(1, 80, OTHER, 1.033)]
    assert parse_vpdq(f"3,0,{HASH},12") == [VpdqFrame(3, 0, HASH, 12.0)]  # no final newline
    assert parse_vpdq_line(f"7,50,{HASH},1e2\n") == VpdqFrame(7, 50, HASH, 100.0)
    assert parse_vpdq("") == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (f"0,100,{HASH}", "expected 4 fields"),
        (f"0,100,{HASH},1.0,extra", "expected 4 fields"),
        ("", "expected 4 fields"),
        (f"0;100;{HASH};1.0", "expected 4 fields"),
        (f"x,100,{HASH},1.0", "frame number"),
        (f"-1,100,{HASH},1.0", "frame number"),
        (f"1.5,100,{HASH},1.0", "frame number"),
        (f"0,101,{HASH},1.0", "quality must be 0-100"),
        (f"0,-1,{HASH},1.0", "quality must be an integer 0-100"),
        (f"0, 100,{HASH},1.0", "quality must be an integer"),
        (f"0,100,{HASH[:-1]},1.0", "hash must be 64 hex digits"),
        (f"0,100,{HASH}0,1.0", "hash must be 64 hex digits"),
        (f"0,100,{HASH[:-1]}g,1.0", "hash must be 64 hex digits"),
        (f"0,100,{HASH},nan", "finite"),
        (f"0,100,{HASH},inf", "finite"),
        (f"0,100,{HASH},1e999", "finite"),
        (f"0,100,{HASH},-0.5", "negative"),
        (f"0,100,{HASH},", "finite"),
        (f"0,100,{HASH},1_0", "finite"),
        (f"0,100,{HASH}, 1.0", "finite"),
    ],
)
def test_rejects_malformed_lines(line: str, message: str) -> None:
    with pytest.raises(VpdqFormatError, match=message):
        parse_vpdq_line(line)


def test_errors_name_the_line_and_are_media_errors() -> None:
    text = f"0,100,{HASH},0.000\n\n2,100,{HASH},2.000\n"
    with pytest.raises(VpdqFormatError, match=r"^line 2: expected 4 fields") as caught:
        parse_vpdq(text)
    assert isinstance(caught.value, MediaError) and isinstance(caught.value, ValueError)
    with pytest.raises(VpdqFormatError, match=r"^line 3: quality"):
        parse_vpdq(f"0,100,{HASH},0\n1,100,{HASH},1\n2,200,{HASH},2\n")


@pytest.mark.parametrize(
    "frame",
    [
        VpdqFrame(0, 100, "xyz", 0.0),
        VpdqFrame(0, 101, HASH, 0.0),
        VpdqFrame(-1, 100, HASH, 0.0),
        VpdqFrame(0, 100, HASH, float("nan")),
        VpdqFrame(0, 100, HASH, -1.0),
    ],
)
def test_refuses_to_write_what_could_not_be_read(frame: VpdqFrame) -> None:
    with pytest.raises(VpdqFormatError):
        format_vpdq_line(frame)
