"""The README's quickstart block is examples/quickstart.py (less its docstring), so the two never
drift; tests/test_docs.py runs the block and tests/test_examples.py the script."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_quickstart_is_the_example() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"^```python\n(.*?)^```", section, re.S | re.M)
    script = (ROOT / "examples" / "quickstart.py").read_text()
    code = script.split('"""', 2)[2].lstrip("\n")
    assert block == code
    assert "examples/quickstart.py" in section


def test_readme_install_and_license() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "pip install -e '.[redis,postgres]'" in readme and "make test" in readme
    assert "dist/socialfeed-0.1.0-py3-none-any.whl[redis]" in readme
    assert "Copyright (c) 2026 socialfeed authors" in (ROOT / "LICENSE").read_text()
