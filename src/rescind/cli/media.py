"""`rescind hash`: hash pictures and videos as the server does."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class HashFormat(StrEnum):
    """What `rescind hash` prints."""

    json = "json"  # one JSON object per file (the documented interface)
    vpdq = "vpdq"  # Meta vPDQ's lines for a video: frame_number,quality,hash,timestamp


def hash_command(
    paths: Annotated[
        list[Path], typer.Argument(help="Image or video files; directories are walked.")
    ],
    dihedral: Annotated[
        bool, typer.Option("--dihedral", help="Also hash the 7 other rotations/flips of images.")
    ] = False,
    fps: Annotated[
        float, typer.Option(min=0.01, max=120.0, help="Video frames hashed per second.")
    ] = 1.0,
    output_format: Annotated[
        HashFormat,
        typer.Option(
            "--format",
            help="json: one JSON object per file. vpdq: a video's frames as Meta vPDQ's text "
            "lines (frame_number,quality,hash,timestamp); with several files, --out-dir.",
        ),
    ] = HashFormat.json,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            file_okay=False,
            help="With --format vpdq: write each video's lines to DIR/<file name>.vpdq.txt.",
        ),
    ] = None,
) -> None:
    """Print one JSON object per file: kind, MD5, SHA-256 and PDQ hashes (exit 1 if any failed)."""
    from rescind.media import iter_media_paths
    from rescind.media.image import quiet_decoder_warnings

    quiet_decoder_warnings()  # as a server's process does (rescind.services)
    files = iter_media_paths(paths)
    if output_format is HashFormat.vpdq:
        failed = _print_vpdq(files, fps, out_dir)
    else:
        if out_dir is not None:
            raise typer.BadParameter("--out-dir is for --format vpdq", param_hint="--out-dir")
        failed = _print_json(files, dihedral, fps)
    if failed:
        raise typer.Exit(1)


def _print_json(files: list[Path], dihedral: bool, fps: float) -> bool:
    import json

    from rich.console import Console
    from rich.progress import Progress

    from rescind.media import hash_file

    failed = False
    # The bar goes to stderr, and only for long runs: stdout carries nothing but JSON lines.
    with Progress(console=Console(stderr=True), disable=len(files) <= 20, transient=True) as bar:
        task = bar.add_task("hashing", total=len(files))
        for path in files:
            result = hash_file(path, dihedral=dihedral, fps=fps)
            failed = failed or "error" in result
            typer.echo(json.dumps(result))
            bar.advance(task)
    return failed


def _print_vpdq(files: list[Path], fps: float, out_dir: Path | None) -> bool:
    from rescind.media import vpdq_file

    if out_dir is None and len(files) > 1:
        raise typer.BadParameter(
            "vPDQ lines carry no file name: give one video, or --out-dir for several",
            param_hint="--out-dir",
        )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    failed = False
    for path in files:
        text, error = vpdq_file(path, fps=fps)
        if error is not None:
            failed = True
            typer.echo(f"{path}: {error}", err=True)
        elif out_dir is None:
            typer.echo(text, nl=False)
        else:
            target = out_dir / f"{path.name}.vpdq.txt"
            target.write_text(text, encoding="ascii")
            typer.echo(f"{path}: {target}", err=True)
    return failed
