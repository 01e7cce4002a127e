"""Who follows the router's actor: a small JSON list in `<data dir>/activitypub/followers.json`.

A file so that followers survive restarts; written whole to a temporary file and renamed, so a
crash never leaves half a list. Read once at start; the list is served as the followers collection.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
FOLLOWERS_FILE = Path("activitypub") / "followers.json"
MAX_FOLLOWERS = 100_000


class FollowerStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FOLLOWERS_FILE
        self._actors: list[str] = self._load()

    def _load(self) -> list[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("ActivityPub followers file unreadable (%s); starting with none", type(exc).__name__)
            return []
        return [a for a in data if isinstance(a, str)] if isinstance(data, list) else []

    def actors(self) -> list[str]:
        return list(self._actors)

    def add(self, actor: str) -> bool:
        if actor in self._actors or len(self._actors) >= MAX_FOLLOWERS:
            return False
        self._actors.append(actor)
        self._save()
        return True

    def remove(self, actor: str) -> bool:
        if actor not in self._actors:
            return False
        self._actors.remove(actor)
        self._save()
        return True

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._actors), encoding="utf-8")
        os.replace(tmp, self.path)
