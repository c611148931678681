"""Every ```python block of README.md and docs/*.md runs (per page: in order, one namespace)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services import require

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
REQUIRES = re.compile(r"<!--\s*requires:\s*([\w\s]+?)\s*-->")


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_runs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    text = page.read_text()
    if m := REQUIRES.search(text):
        for name in m.group(1).split():
            if name == "redis":  # pages read REDIS_URL: a server of the test run's own
                monkeypatch.setenv("REDIS_URL", request.getfixturevalue("redis_server").url)
            elif name != "s3":
                require(name)
    blocks = BLOCK.findall(text)
    if not blocks:
        pytest.skip("no python blocks")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for n, block in enumerate(blocks, 1):
        code = compile(block, f"{page.name}[block {n}]", "exec")
        exec(code, namespace)


def test_examples_are_included_in_docs() -> None:
    """Examples exist and each one is referenced from a docs page."""
    examples = sorted((ROOT / "examples").glob("*.py"))
    assert examples
    docs = "".join(p.read_text() for p in PAGES)
    for example in examples:
        assert example.name in docs, f"{example.name} is not shown in any docs page"
