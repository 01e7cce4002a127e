"""Claude Code credential discovery: the seed's file order and both layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.credentials.files import CANDIDATE_FILES, parse_credentials, read_first_credentials


@pytest.mark.parametrize(
    ("data", "access", "refresh", "expires"),
    [
        (
            {"claudeAiOauth": {"accessToken": "A", "refreshToken": "R", "expiresAt": 1781050618000}},
            "A",
            "R",
            1781050618000,
        ),
        ({"claude_ai_oauth": {"access_token": "A"}}, "A", None, None),
        ({"accessToken": "A"}, "A", None, None),
        ({"access_token": "A", "refresh_token": "R", "expires_at": 5}, "A", "R", 5),
        ({"oauthToken": "A"}, "A", None, None),
        ({"oauth_token": "A"}, "A", None, None),
        ({"claudeAiOauth": {"accessToken": "NESTED"}, "accessToken": "FLAT"}, "NESTED", None, None),
        ({"claudeAiOauth": {"accessToken": ""}, "accessToken": "FLAT"}, "FLAT", None, None),
    ],
)
def test_layouts(data: dict[str, object], access: str, refresh: str | None, expires: int | None) -> None:
    tokens = parse_credentials(data)
    assert tokens is not None
    assert (tokens.access_token, tokens.refresh_token, tokens.expires_at_ms) == (access, refresh, expires)


@pytest.mark.parametrize(
    "data", [{}, [], "x", {"claudeAiOauth": {}}, {"accessToken": "  "}, {"mcp": {"a": 1}}]
)
def test_no_token(data: object) -> None:
    assert parse_credentials(data) is None


def test_files_are_searched_in_the_seed_order(tmp_path: Path) -> None:
    for name in reversed(CANDIDATE_FILES):
        (tmp_path / name).write_text(json.dumps({"accessToken": f"token-{name}"}))
    found = read_first_credentials(tmp_path)
    assert found is not None and found.path.name == "credentials.json"
    (tmp_path / "credentials.json").unlink()
    found = read_first_credentials(tmp_path)
    assert found is not None and found.tokens.access_token == "token-.credentials.json"


def test_empty_and_broken_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "credentials.json").write_text(json.dumps({"unrelated": True}))
    (tmp_path / ".credentials.json").write_text("{not json")
    (tmp_path / "config.json").write_text(json.dumps({"claudeAiOauth": {"accessToken": "late"}}))
    found = read_first_credentials(tmp_path)
    assert found is not None and found.tokens.access_token == "late"


def test_missing_dir_means_no_credentials(tmp_path: Path) -> None:
    assert read_first_credentials(tmp_path / "nope") is None


def test_token_values_never_appear_in_repr() -> None:
    tokens = parse_credentials({"accessToken": "sk-ant-oat01-SECRET", "refreshToken": "sk-ant-ort01-SECRET"})
    assert "SECRET" not in repr(tokens)
