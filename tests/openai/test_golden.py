"""Golden fixtures for every translation behaviour (requests, responses, both stream shapes)."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from tests.openai.golden import case_id, cases, run_json, run_stream, update_json

UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize(
    "case", cases("chat_request", "chat_response", "responses_request", "responses_response"), ids=case_id
)
def test_json_golden(case: Path) -> None:
    result = run_json(case)
    if UPDATE:
        update_json(case, result)
    assert result == json.loads((case / "out.json").read_text())


@pytest.mark.parametrize("case", cases("chat_stream", "responses_stream"), ids=case_id)
def test_stream_golden(case: Path) -> None:
    result = run_stream(case)
    if UPDATE:
        (case / "out.sse").write_bytes(result)
    assert result.decode() == (case / "out.sse").read_text()


@pytest.mark.parametrize("case", cases("chat_stream", "responses_stream"), ids=case_id)
@pytest.mark.parametrize("chunk_size", [1, 7, 64])
def test_stream_output_does_not_depend_on_network_chunking(case: Path, chunk_size: int) -> None:
    assert run_stream(case, chunk_size) == (case / "out.sse").read_bytes()


@pytest.mark.parametrize("case", cases("chat_request", "responses_request"), ids=case_id)
def test_request_translation_never_mutates_its_input(case: Path) -> None:
    body = json.loads((case / "in.json").read_text())
    pristine = copy.deepcopy(body)
    first = run_json(case, body)
    assert body == pristine
    assert run_json(case, body) == first  # a retry translates the same body to the same request
