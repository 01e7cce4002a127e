"""The project skeleton a fresh clone relies on: layout, declared dependencies, make targets, README.

These read the repository's own files (never the machine's), so a clone that loses a directory, a
dependency, a make target or the console script fails here rather than at a user's first command.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower() for req in requirements}


LAYOUT = ["proto", "gateway", "controller", "dsl", "tests", "charts", "akash", "bench", "examples"]


@pytest.mark.parametrize("folder", LAYOUT)
def test_layout_folder_exists_and_developers_md_describes_it(folder: str) -> None:
    assert (ROOT / folder).is_dir()
    assert f"| `{folder}/` |" in (ROOT / "DEVELOPERS.md").read_text(encoding="utf-8")


def test_top_level_files_exist_and_ci_entry_is_executable() -> None:
    for name in ("Makefile", "pyproject.toml", "README.md"):
        assert (ROOT / name).is_file(), name
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make lint" in ci and "make test" in ci


def test_every_test_folder_is_a_package() -> None:
    for folder in (ROOT / "tests").rglob("*"):
        if folder.is_dir() and any(folder.glob("test_*.py")):
            assert (folder / "__init__.py").is_file(), folder.relative_to(ROOT)


def test_python_version_runtime_and_test_dependencies_and_console_script() -> None:
    project = PYPROJECT["project"]
    assert project["requires-python"] == ">=3.11"
    runtime = _names(project["dependencies"])
    for name in ("grpcio", "aiohttp", "pyjwt", "cryptography", "opentelemetry-sdk",
                 "opentelemetry-exporter-prometheus", "lark", "redis"):  # fmt: skip
        assert name in runtime, name
    # The gateway's own dependencies only: the Kubernetes client and grpcio-tools are extras (the
    # controller image and code generation), so the gateway image is without them.
    extras = project["optional-dependencies"]
    assert "kubernetes" in _names(extras["controller"]) and "grpcio-tools" in _names(extras["codegen"])
    assert not runtime & {"kubernetes", "grpcio-tools"}
    test_extra = _names(project["optional-dependencies"]["test"])
    for name in ("pytest", "hypothesis", "ruff", "mypy", "anthropic", "openai", "links-notation"):
        assert name in test_extra, name
    assert "links-notation" not in runtime  # a test oracle only: our parser is our own
    assert project["scripts"]["link-assistant-router"] == "gateway.cli.main:main"


@pytest.mark.parametrize("target", ["install", "run", "test", "lint", "fmt"])
def test_make_target_exists(target: str) -> None:
    assert re.search(rf"^{target}:", MAKEFILE, re.MULTILINE), target


def test_lint_runs_ruff_strict_mypy_on_dsl_and_import_contracts() -> None:
    lint = MAKEFILE[MAKEFILE.index("\nlint:") :].split("\n\n")[0]
    assert "ruff check" in lint and "ruff format --check" in lint and "lint-imports" in lint
    assert "mypy --strict dsl gateway controller" in lint
    strict = [o for o in PYPROJECT["tool"]["mypy"]["overrides"] if o.get("strict")]
    assert any("dsl.*" in o["module"] for o in strict)
    assert PYPROJECT["tool"]["importlinter"]["contracts"]


def test_run_and_test_install_first_so_a_fresh_clone_needs_nothing_else() -> None:
    for target in ("run", "test"):
        line = re.search(rf"^{target}:(.*)$", MAKEFILE, re.MULTILINE)
        assert line is not None and "install" in line.group(1).split(), target


def test_readme_opens_with_make_run_and_make_test() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme[readme.index("```") : readme.index("```", readme.index("```") + 3)]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:]]
    assert commands[:2] == ["make run", "make test"]


def test_the_grammar_is_a_lark_file_used_by_the_parser() -> None:
    grammar = ROOT / "dsl" / "lino" / "grammar.lark"
    assert grammar.is_file()
    assert "grammar.lark" in (ROOT / "dsl" / "lino" / "parser.py").read_text(encoding="utf-8")


# Documents that live outside the repository; a reader of a clone cannot follow a pointer to them.
_OUTSIDE_DOCS = re.compile(
    r"SPEC\b|seed-behaviour|protocols(\.md)? §|test-infrastructure|shared/notes|§\s*\d"
)


def test_no_text_points_at_a_document_outside_the_repository() -> None:
    offenders = []
    for path in sorted(ROOT.rglob("*")):
        rel = path.relative_to(ROOT)
        if rel.parts[0].startswith(".") or "gen" in rel.parts or not path.is_file():
            continue
        if path.suffix not in {".py", ".md", ".lark", ".yaml", ".yml", ".lino", ".proto", ".toml"}:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if _OUTSIDE_DOCS.search(line) and rel != Path(__file__).relative_to(ROOT):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_the_readme_defines_the_seed_once() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(re.findall(r"called \*\*the seed\*\*", readme)) == 1
    first_use = readme.lower().index("the seed")
    assert "link-assistant/router" in readme[max(0, first_use - 200) : first_use]
