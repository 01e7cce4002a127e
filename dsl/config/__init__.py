"""The config DSL: Links Notation text -> validated `RouterConfig`.

`load_config(text, source)` is the one entry point most callers need; `load_config_traced` also
returns where each value was set. Pure: no file I/O, no environment.
"""

from __future__ import annotations

from dsl.config.loader import LoadedConfig, load_config, load_config_traced, load_links

__all__ = ["LoadedConfig", "load_config", "load_config_traced", "load_links"]
