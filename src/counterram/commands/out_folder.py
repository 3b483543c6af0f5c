"""Where a command may write: the checks every ``--out`` goes through before anything runs.

Why it exists: a run folder is the record of a run, and the commands that write one (``run``,
``engine``) used to write into whatever ``--out`` named: an empty string meant the current
directory, and a second run into the folder of a first one overwrote it without a word. These
checks refuse both (and a path that is a file) with a message saying what to do, unless
``--force`` says the user means it. ``campaign`` keeps its own rule: a campaign folder is
resumable by design, so rerunning into it continues the campaign.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["out_file_problem", "out_folder_problem"]


def _blank(text: str) -> bool:
    return not text.strip()


def out_folder_problem(
    out: Path | str, *, force: bool = False, option: str = "--out"
) -> str | None:
    """Why ``out`` cannot receive a run folder, or ``None`` when it can: it must be a non-empty
    path, not a file, and not a folder holding anything yet (unless ``force``)."""
    text = str(out)
    if _blank(text) or "\x00" in text:
        return f"{option}: an empty path or one with a NUL byte; name the folder to write into"
    path = Path(text)
    if path.exists() and not path.is_dir():
        return f"{option}: {text!r} exists and is not a folder"
    if path.is_dir() and not force:
        try:
            used = any(path.iterdir())
        except OSError as exc:
            return f"{option}: cannot read {text!r}: {exc.strerror or exc}"
        if used:
            return (f"{option}: {text!r} already holds files (a previous run?); choose another "
                    f"folder or add --force to write over them")
    return None


def out_file_problem(out: Path | str, *, option: str = "--out") -> str | None:
    """Why ``out`` cannot be written as a file, or ``None``: a non-empty path, not a folder."""
    text = str(out)
    if _blank(text) or "\x00" in text:
        return f"{option}: an empty path or one with a NUL byte; name the file to write"
    if Path(text).is_dir():
        return f"{option}: {text!r} is a folder; name a file"
    return None
