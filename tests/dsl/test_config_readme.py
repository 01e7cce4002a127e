"""The README's configuration reference names every block and key the loader accepts."""

from __future__ import annotations

from pathlib import Path

from dsl.config.flags import SETTINGS
from dsl.config.schema import LISTS, SECTIONS, TOP_LEVEL_KEYS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## Configuration") :]


def test_every_block_and_key_is_documented() -> None:
    for block in TOP_LEVEL_KEYS:
        assert f"`{block}:`" in SECTION, block
    for _, spec in [*SECTIONS.values(), *LISTS.values()]:
        for key in spec.canonical_keys:
            assert f"`{key}" in SECTION or f"{key}`" in SECTION, (spec.name, key)


def test_new_flags_are_documented() -> None:
    for setting in SETTINGS:
        if setting.flag in ("--config", "--admin-grpc-port", "--json-logs", "--redis-url"):
            assert f"`{setting.flag}`/`{setting.env}`" in SECTION
