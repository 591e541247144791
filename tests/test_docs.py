"""The repository explains itself: what a newcomer clones points at nothing outside it.

Every tracked file is read for a path of the machine it was written on or a document
that lives beside the repository rather than in it. `docs/architecture.md` and
`docs/wechat.md` must exist, every repository path they cite must exist, and every
section of `docs/wechat.md` that a file cites ("docs/wechat.md §4") must be a heading
there.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("docs/architecture.md", "docs/wechat.md")

# Spelled in pieces so this file does not match itself.
_OUTSIDE = [
    ("a sibling folder of the checkout", re.escape(".." + "/shared")),
    ("a machine path", r"(?<![\w.~-])/(?:" + "work|root|home" + r")/"),
    ("a design note kept outside the repository", r"\b(?:" + "DESIGN|STYLE" + r")\.md\b"),
    ("the protocol notes kept outside the repository", re.escape("wechat-" + "protocol.md")),
]
_CITED = re.compile(r"`([^`\s]+)`")
_SECTION = re.compile(r"§(\d+(?:\.\d+)?)")
_HEADING = re.compile(r"^#{2,} §(\d+(?:\.\d+)?) ", re.MULTILINE)


def _tracked() -> list[str]:
    git = shutil.which("git")
    assert git, "git is needed to list the repository's files"
    out = subprocess.run(  # noqa: S603 - a fixed command, no input from outside
        [git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [name for name in out.decode().split("\0") if name]


def _text(path: Path) -> str | None:
    """The file's text, or None for a binary (a screenshot, a compiled catalogue)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:  # deleted in the work tree, not yet in the index
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


def outside_references(name: str, text: str) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for what, pattern in _OUTSIDE:
            if re.search(pattern, line):
                found.append(f"{name}:{number}: {what}: {line.strip()[:120]}")
    return found


def cited_paths(text: str, top_level: set[str]) -> set[str]:
    """The backticked tokens that name something in the repository: they begin with one
    of its top-level files or folders (`accounts/scope.py`, `Procfile`, `tests/browser/`)."""
    cited = set()
    for token in _CITED.findall(text):
        token = token.rstrip(".,:;")
        if token.split("/")[0] in top_level:
            cited.add(token)
    return cited


def test_no_tracked_file_points_outside_the_repository() -> None:
    found = []
    for name in _tracked():
        text = _text(ROOT / name)
        if text is not None:
            found += outside_references(name, text)
    assert found == []


@pytest.mark.parametrize("doc", DOCS)
def test_the_doc_exists_and_every_path_it_cites_exists(doc: str) -> None:
    path = ROOT / doc
    assert path.is_file(), f"{doc} is missing"
    top_level = {name.split("/")[0] for name in _tracked()} | {"docs"}
    cited = cited_paths(path.read_text(), top_level)
    assert len(cited) >= 10, f"{doc} cites almost no file: {sorted(cited)}"
    assert sorted(c for c in cited if not (ROOT / c).exists()) == []
    assert outside_references(doc, path.read_text()) == []


def test_every_cited_section_of_the_platform_notes_exists() -> None:
    headings = set(_HEADING.findall((ROOT / "docs/wechat.md").read_text()))
    missing = []
    for name in _tracked():
        text = _text(ROOT / name)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if "docs/wechat.md" in line:
                missing += [f"{name}:{number}: §{s}" for s in _SECTION.findall(line)
                            if s not in headings]
    assert missing == []


def test_the_checks_see_what_they_look_for() -> None:
    sample = "\n".join([
        "see ../" "shared/NOTES.md",
        "cd /" "work/main && make",
        "like `accounts/scope.py` and `nowhere/else.py` and `config.wsgi`",
        "fine: https://example.com/work/x and tempfile's own folder",
    ])
    assert [line.split(":")[1] for line in outside_references("x", sample)] == ["1", "2"]
    assert cited_paths(sample, {"accounts"}) == {"accounts/scope.py"}
