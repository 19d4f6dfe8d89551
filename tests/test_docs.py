"""The reference pages list every setting, error class and command, and match the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from haven import docgen
from haven.cli import cli
from haven.errors import all_error_classes
from haven.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("page", sorted(docgen.PAGES))
def test_generated_page_is_current(page: str) -> None:
    committed = (DOCS / page).read_text(encoding="utf-8")
    assert committed == docgen.PAGES[page](), f"docs/{page} is stale: run `make docs`"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    missing = [n for n in Settings.model_fields if f"`HAVEN_{n.upper()}`" not in text]
    assert not missing


def test_every_error_class_is_documented() -> None:
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    missing = [c.__name__ for c in all_error_classes() if f"`{c.__name__}`" not in text]
    assert not missing


def test_every_command_is_documented_with_an_example() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for path, command in docgen._walk(cli, ["haven"]):
        assert f"## `{' '.join(path)}`" in text
        is_group = hasattr(command, "commands")
        if not is_group:
            assert "Example:" in (command.help or ""), f"{' '.join(path)} has no Example"


def test_docs_pages_linked_from_readme() -> None:
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    for page in ("docs/settings.md", "docs/errors.md", "docs/cli.md", "docs/api.md"):
        assert page in readme
        assert (DOCS.parent / page).exists()
