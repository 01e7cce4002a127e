"""`link-assistant-router config …` run as a real process: exit codes, stdout/stderr a user sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dsl.config import load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.lino"))


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_examples_exist_and_are_valid() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"dev.lino", "minimal.lino", "multi-account.lino", "litellm.lino", "kubernetes.lino"} <= names
    done = run("config", "validate", *map(str, EXAMPLES), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    for path in EXAMPLES:
        assert f"{path}: valid" in done.stdout


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_loads_in_process(path: Path) -> None:
    load_config(path.read_text(encoding="utf-8"), str(path))


def test_validate_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.lino"
    bad.write_text("server:\n  prot 1\n  port x\naccounts:\n  a:\n    api-key sk-SECRET\n", encoding="utf-8")
    done = run("config", "validate", "bad.lino", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0].startswith("bad.lino:2:3: unknown key `prot`")
    assert lines[1].startswith("bad.lino:3:3: invalid value 'x' for `port`")
    assert lines[2].startswith("bad.lino:6:5: `api-key` must not be written inline")
    assert "sk-SECRET" not in done.stderr + done.stdout
    assert "bad.lino: invalid (3 problems)" in done.stdout


def test_validate_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    done = run("config", "validate", "absent.lino", cwd=tmp_path)
    assert done.returncode == 2
    assert "cannot read absent.lino" in done.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("config", cwd=tmp_path).returncode == 2
    assert run("config", "render", "x.lino", "--target", "nomad", cwd=tmp_path).returncode == 2


def test_fmt_prints_canonical_text_and_write_is_idempotent(tmp_path: Path) -> None:
    messy = tmp_path / "r.lino"
    original = "# head\nserver:   # the listener\n      port   8080\nfeatures: (metrics off)\n"
    messy.write_text(original, encoding="utf-8")
    printed = run("config", "fmt", "r.lino", cwd=tmp_path)
    assert printed.returncode == 0
    expected = "# head\n# the listener\nserver:\n  port 8080\n\nfeatures:\n  metrics off\n"
    assert printed.stdout == expected
    assert messy.read_text(encoding="utf-8") == original  # printing never touches the file
    assert run("config", "fmt", "--check", "r.lino", cwd=tmp_path).returncode == 1
    assert run("config", "fmt", "--write", "r.lino", cwd=tmp_path).returncode == 0
    assert messy.read_text(encoding="utf-8") == expected
    assert run("config", "fmt", "--check", "r.lino", cwd=tmp_path).returncode == 0
    assert load_config(expected) == load_config(original)


def test_fmt_syntax_error_exits_1_with_position(tmp_path: Path) -> None:
    (tmp_path / "s.lino").write_text("server:\n  port (8080\n", encoding="utf-8")
    done = run("config", "fmt", "s.lino", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("s.lino:")


def test_show_prints_effective_values_with_sources_and_redacts_secrets(tmp_path: Path) -> None:
    (tmp_path / "r.lino").write_text(
        "server:\n  port 7000\naccounts:\n  a:\n    api-key-env ACCOUNT_KEY\n", encoding="utf-8"
    )
    (tmp_path / ".lenv").write_text("ROUTER_HOST: 127.0.0.7\n", encoding="utf-8")
    env = {"TOKEN_SECRET": "very-secret-value", "ACCOUNT_KEY": "sk-ant-hidden", "ROUTING_MODE": "hybrid"}
    done = run(
        "config", "show", "r.lino", "--verbose", "--admin-key", "literal-admin-key", cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    rows = {line.split(" = ")[0]: line for line in done.stdout.splitlines()}
    assert rows["server.port"].split("#")[1].strip() == "config r.lino:2:3"
    assert "7000" in rows["server.port"]
    assert rows["server.host"].endswith("# .lenv ROUTER_HOST")
    assert rows["server.verbose"].endswith("# flag --verbose")
    assert rows["routing.mode"].endswith("# env ROUTING_MODE")
    assert rows["admin.token_secret"].startswith("admin.token_secret = env:TOKEN_SECRET")
    assert rows["admin.admin_key"].startswith("admin.admin_key = <redacted>")
    assert rows["accounts.a.api_key"].startswith("accounts.a.api_key = env:ACCOUNT_KEY")
    for secret in ("very-secret-value", "sk-ant-hidden", "literal-admin-key"):
        assert secret not in done.stdout + done.stderr


def test_show_reports_bad_environment_values(tmp_path: Path) -> None:
    done = run("config", "show", cwd=tmp_path, env={"ROUTER_PORT": "http"})
    assert done.returncode == 1
    assert "environment: invalid value 'http' for ROUTER_PORT" in done.stderr


def test_render_of_the_kubernetes_example_prints_manifests(tmp_path: Path) -> None:
    # Named after its file it would be a Service `kubernetes`, the API server's own name: refused.
    example = str(ROOT / "examples" / "kubernetes.lino")
    refused = run("config", "render", example, "--target", "kubernetes", cwd=tmp_path)
    assert refused.returncode == 1 and "pass --name" in refused.stderr
    done = run("config", "render", example, "--target", "kubernetes", "--name", "router", "--namespace", "ai",
               cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "kind: Deployment" in done.stdout
    assert "  name: router\n  namespace: ai\n" in done.stdout


def test_no_subcommand_means_serve_and_its_flags_go_through_the_settings_layers(tmp_path: Path) -> None:
    done = run("--port", "notaport", cwd=tmp_path, env={"TOKEN_SECRET": "x"})
    assert done.returncode == 2
    assert "command line: invalid value 'notaport' for --port" in done.stderr
    assert "Traceback" not in done.stderr


def test_global_flags_work_after_the_subcommand(tmp_path: Path) -> None:
    (tmp_path / "r.lino").write_text("server:\n  port 7000\n", encoding="utf-8")
    done = run("config", "show", "--port", "7100", "--config", "r.lino", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "server.port = 7100" in done.stdout
    assert "# flag --port" in done.stdout


@pytest.mark.parametrize(
    ("argv", "only"),
    [
        (["config", "validate", "x"], "gateway.cli.config_cmd"),
        (["--port", "9000", "--verbose", "config", "show"], "gateway.cli.config_cmd"),
        (["--port=9000", "tokens", "list"], "gateway.cli.tokens_cmd"),
        (["--port", "config"], None),  # `config` is the value of --port here: load everything
        (["--help"], None),
        ([], None),
    ],
)
def test_only_the_named_subcommand_module_is_loaded(argv: list[str], only: str | None) -> None:
    from gateway.cli.main import COMMAND_MODULES, _modules_for

    assert _modules_for(argv) == ((only,) if only else COMMAND_MODULES)


def test_fmt_write_keeps_the_file_mode_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "m.lino"
    target.write_text("server:\n      port 1\n", encoding="utf-8")
    target.chmod(0o640)
    assert run("config", "fmt", "-w", "m.lino", cwd=tmp_path).returncode == 0
    assert target.read_text(encoding="utf-8") == "server:\n  port 1\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.lino"]


def test_the_installed_console_script_validates_too(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "link-assistant-router"
    if not script.exists():
        pytest.skip("the console script is not installed next to this interpreter")
    (tmp_path / "ok.lino").write_text("server:\n  port 8081\n", encoding="utf-8")
    done = subprocess.run(
        [str(script), "config", "validate", "ok.lino"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "ok.lino: valid\n")


def test_validate_lists_every_syntax_error_not_just_the_first(tmp_path: Path) -> None:
    (tmp_path / "urls.lino").write_text(
        "providers:\n  a\n    base-url http://a:4000/v1\n  b\n    base-url http://b:4000/v1\n",
        encoding="utf-8",
    )
    done = run("config", "validate", "urls.lino", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert [line.split(": ")[0] for line in lines] == ["urls.lino:3:18", "urls.lino:5:18"]
    assert lines[0].endswith("e.g. 'http://a:4000/v1')")  # the fix, spelled out
    assert lines[1].endswith("e.g. 'http://b:4000/v1')")
    assert "urls.lino: invalid (2 problems)" in done.stdout


def test_help_and_usage_errors_show_the_subcommands_own_arguments_first(tmp_path: Path) -> None:
    helped = run("config", "validate", "--help", cwd=tmp_path)
    assert helped.returncode == 0
    usage = helped.stdout.split("\n\n")[0]
    assert usage == (
        "usage: link-assistant-router config validate [-h] [--replicas N] FILE [FILE ...] [global options]"
    )
    assert "Exit 0 when all are valid, 1 otherwise" in helped.stdout
    assert "--port ROUTER_PORT" in helped.stdout  # the global flags are still listed below
    missing = run("config", "fmt", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == [
        "usage: link-assistant-router config fmt [-h] [--write | --check] FILE [global options]",
        "link-assistant-router config fmt: error: the following arguments are required: FILE",
    ]


def test_show_prints_one_line_per_setting_even_for_a_multi_line_value(tmp_path: Path) -> None:
    (tmp_path / "r.lino").write_text(
        'activitypub:\n  public-key-pem "-----BEGIN PUBLIC KEY-----\nMCowBQ\n-----END PUBLIC KEY-----"\n',
        encoding="utf-8",
    )
    done = run("config", "show", "r.lino", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert all(" = " in line and "  # " in line for line in done.stdout.splitlines())
    assert "activitypub.public_key_pem = -----BEGIN PUBLIC KEY-----\\nMCowBQ\\n-----END" in done.stdout
