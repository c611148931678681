"""The pytest plugin of the contract suites: registers their modules for pytest's assertion
rewriting, so a failing contract assertion shows the values it compared.

Installed packages load it through the ``pytest11`` entry point named ``socialfeed``; without the
entry point (a source checkout), pass ``-p socialfeed.testing.pytest_plugin``. It must load
before any suite module is imported: pytest warns about a module that is already imported.
"""

from __future__ import annotations

import pkgutil

import pytest

from socialfeed import testing

__all__ = ["SUITE_MODULES"]

SUITE_MODULES: tuple[str, ...] = tuple(
    f"{testing.__name__}.{module.name}"
    for module in pkgutil.iter_modules(testing.__path__)
    if module.name != "pytest_plugin"
)
"""Every module of :mod:`socialfeed.testing` (the package itself holds no assertion)."""

pytest.register_assert_rewrite(*SUITE_MODULES)
