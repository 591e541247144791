"""Apps depend in one direction: accounts <- followers <- messaging <- routing, analytics
reads them all, and `wechat` is a library that imports no Django and no app
(docs/architecture.md).
Every import counts, also one inside a function: a cycle dodged by a late import is still
a function in the wrong app. Lower apps reach higher ones only through domain events
(`accounts.events`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RANK = {"accounts": 0, "followers": 1, "messaging": 2, "routing": 3, "analytics": 4}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _sources(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("app", sorted(RANK))
def test_an_app_imports_no_app_above_it(app: str) -> None:
    upward = []
    for path in _sources(app):
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top in RANK and RANK[top] > RANK[app]:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert upward == []


def test_the_wechat_library_imports_no_django_and_no_app() -> None:
    forbidden = {"django", "rest_framework", "celery", "channels", "config", *RANK}
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _sources("wechat")
        for line, module in _imports(path)
        if module.split(".")[0] in forbidden
    ]
    assert found == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from routing.realtime import push\n")
    assert _imports(sample) == [(2, "routing.realtime")]
