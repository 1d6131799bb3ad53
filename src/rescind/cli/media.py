"""`rescind hash`: hash pictures and videos as the server does."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


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
) -> None:
    """Print one JSON object per file: kind, MD5, SHA-256 and PDQ hashes (exit 1 if any failed)."""
    import json

    from rich.console import Console
    from rich.progress import Progress

    from rescind.media import hash_file, iter_media_paths

    files = iter_media_paths(paths)
    failed = False
    # The bar goes to stderr, and only for long runs: stdout carries nothing but JSON lines.
    with Progress(console=Console(stderr=True), disable=len(files) <= 20, transient=True) as bar:
        task = bar.add_task("hashing", total=len(files))
        for path in files:
            result = hash_file(path, dihedral=dihedral, fps=fps)
            failed = failed or "error" in result
            typer.echo(json.dumps(result))
            bar.advance(task)
    if failed:
        raise typer.Exit(1)
