"""The documentation points at what exists: links, the modules docs/architecture.md names, the bank."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.questions import load_bank
from tests.conftest import ROOT

DOCS = [ROOT / "README.md", ROOT / "docs" / "architecture.md"]
CODE = [p.relative_to(ROOT).as_posix() for top in ("bot", "tests") for p in (ROOT / top).rglob("*.py")]
MARKDOWN = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.md") if ".venv" not in p.parts]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path) -> None:
    """Every relative Markdown link names a file or directory of the repository."""
    targets = re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", doc.read_text())
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert local, "no relative links found: the pattern is wrong"
    missing = [t for t in local if not (doc.parent / t).exists()]
    assert missing == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_documents_named_in_backticks_exist(doc: Path) -> None:
    """`SOMETHING.md` in the text is a file of the repository (there is no ARCHITECTURE.md)."""
    named = set(re.findall(r"`([\w./-]+\.md)`", doc.read_text()))
    assert [n for n in named if not any(m == n or m.endswith("/" + n) for m in MARKDOWN)] == []


def test_the_architecture_names_modules_that_exist() -> None:
    """Each `*.py` the architecture mentions is a file in bot/ or tests/, and it stays short."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = {n for n in re.findall(r"`([\w/]+\.py)`", text)}
    assert len(named) > 20
    unknown = [n for n in named if not any(c == n or c.endswith("/" + n) for c in CODE)]
    assert unknown == []
    assert len(text.splitlines()) <= 150


def test_the_readme_bank_table_lists_every_question() -> None:
    """The README's bank table has one row per question in `rubrics/`, and no other."""
    text = (ROOT / "README.md").read_text()
    table = text.split("## The question bank", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([a-z0-9-]+)` \|", table, flags=re.M)
    bank = load_bank(ROOT / "rubrics")
    assert sorted(listed) == sorted(bank.ids())
    assert f"{len(bank.questions)} questions" in table
