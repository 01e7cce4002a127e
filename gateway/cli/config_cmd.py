"""`link-assistant-router config validate|fmt|show|render|diff`: work with the config DSL file.

Thin: reads files, calls the pure DSL functions, prints. Exit codes: 0 ok, 1 invalid config
(or `fmt --check` found a file to reformat), 2 usage error (bad arguments, unreadable file).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

from dsl.config import load_config
from dsl.config.layout import format_config
from dsl.config.view import flatten
from dsl.errors import DslError
from gateway.cli.settings import settings_from_args

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
RENDER_TARGETS = ("kubernetes", "helm-values", "akash")

FMT_HELP = """\
Print the file in canonical layout: one `key:` block per top-level section, one entry per line,
two-space indentation, quotes only where needed, one blank line between blocks. The output parses
to exactly the same links as the input, and formatting it again changes nothing.

Comments are kept: each comment is placed on its own line directly above the entry that followed it,
at that entry's indentation; a comment at the end of a line moves to its own line above it. (If a
file uses a shape the block layout cannot spell, the canonical one-link-per-line form is printed
instead; that form cannot keep comments, and --write then refuses to overwrite a commented file.)
"""


def register(subparsers: Any) -> None:
    config = subparsers.add_parser(
        "config",
        help="validate, format, show or render the config DSL file",
        description="Work with the router's Links Notation config file.",
    )
    actions = config.add_subparsers(dest="config_command", metavar="ACTION")
    config.set_defaults(handler=lambda _args: _usage(config))

    validate = actions.add_parser(
        "validate",
        help="check config files; list every problem as file:line:col",
        description="Parse and validate each FILE. Prints `FILE: valid`, or every problem as "
        "`file:line:col: message`. Exit 0 when all are valid, 1 otherwise. Each file is checked on "
        "its own: a rule such as 'a gonka upstream needs a private key' must be met inside the file "
        "(`private-key-env NAME`), whereas `config show` and the server also count flags and the "
        "environment.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="a config file (Links Notation)")
    validate.set_defaults(handler=run_validate)

    fmt = actions.add_parser(
        "fmt",
        help="print a config file in canonical layout (comments kept)",
        description=FMT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fmt.add_argument("file", metavar="FILE", help="the config file to format")
    mode = fmt.add_mutually_exclusive_group()
    mode.add_argument("--write", "-w", action="store_true", help="rewrite FILE in place instead of printing")
    mode.add_argument("--check", action="store_true", help="print nothing; exit 1 if FILE is not formatted")
    fmt.set_defaults(handler=run_fmt)

    show = actions.add_parser(
        "show",
        help="print the effective configuration with the source of each value",
        description="Resolve flags > environment > ./.lenv > ./.env > config file > defaults and print "
        "every setting as `path = value  # source`. Secrets are shown only as where they come from.",
    )
    show.add_argument(
        "file", nargs="?", metavar="FILE", help="config file (default: --config / ROUTER_CONFIG)"
    )
    show.set_defaults(handler=run_show)

    diff = actions.add_parser(
        "diff",
        help="print what reloading OLD into NEW would change",
        description="Validate both files and print what a reload from OLD to NEW would change, one "
        "setting per line (`~ key: old -> new`, `+` added, `-` removed; secrets only as references). "
        "A change that needs a restart (a listener port, the token store...) is marked: a reload reports "
        "it and applies nothing. Exit 0 with no changes, 1 when something changes or a file is invalid.",
    )
    diff.add_argument("old", metavar="OLD", help="the config file now running")
    diff.add_argument("new", metavar="NEW", help="the config file to reload")
    diff.set_defaults(handler=run_diff)

    render = actions.add_parser(
        "render",
        help="render deployment manifests from a config file",
        description="Render FILE for a deployment target: Kubernetes manifests, Helm values or an "
        "Akash SDL. The same file drives all three.",
    )
    render.add_argument("file", metavar="FILE", help="config DSL file (Links Notation) to render")
    render.add_argument(
        "--target",
        required=True,
        choices=RENDER_TARGETS,
        help="kubernetes: ConfigMap, Deployment, Service (what the controller applies); "
        "helm-values: values for the link-assistant-router-gateway chart; akash: an Akash SDL (v2.0)",
    )
    render.set_defaults(handler=run_render)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or "not UTF-8 text"
        print(f"error: cannot read {path}: {reason}", file=sys.stderr)
        return None


def _print_problems(err: DslError) -> None:
    for problem in err.problems:
        print(problem.render(), file=sys.stderr)


def run_validate(args: argparse.Namespace) -> int:
    status = EXIT_OK
    for path in args.files:
        text = _read(path)
        if text is None:
            status = max(status, EXIT_USAGE)
            continue
        try:
            load_config(text, source=path)
        except DslError as err:
            _print_problems(err)
            count = len(err.problems)
            print(f"{path}: invalid ({count} problem{'s' if count != 1 else ''})")
            status = max(status, EXIT_INVALID)
            continue
        print(f"{path}: valid")
    return status


def run_diff(args: argparse.Namespace) -> int:
    from gateway.reload.diff import diff_configs

    configs = []
    for path in (args.old, args.new):
        text = _read(path)
        if text is None:
            return EXIT_USAGE
        try:
            configs.append(load_config(text, source=path))
        except DslError as err:
            _print_problems(err)
            print(f"{path}: invalid", file=sys.stderr)
            return EXIT_INVALID
    result = diff_configs(configs[0], configs[1])
    print(result.render())
    if result.restart_keys:
        print(f"a reload would apply nothing: {len(result.restart_keys)} change(s) need a restart")
    return EXIT_OK if result.empty else EXIT_INVALID


def run_fmt(args: argparse.Namespace) -> int:
    text = _read(args.file)
    if text is None:
        return EXIT_USAGE
    try:
        formatted = format_config(text, source=args.file)
    except DslError as err:
        _print_problems(err)
        return EXIT_INVALID
    if args.check:
        if formatted.text != text:
            print(f"{args.file}: would be reformatted", file=sys.stderr)
            return EXIT_INVALID
        return EXIT_OK
    if not args.write:
        sys.stdout.write(formatted.text)
        return EXIT_OK
    if not formatted.comments_kept:
        print(f"error: {args.file}: its layout cannot keep the comments; not rewritten", file=sys.stderr)
        return EXIT_INVALID
    if formatted.text != text:
        try:
            _replace_atomically(Path(args.file), formatted.text)
        except OSError as err:
            print(f"error: cannot write {args.file}: {err.strerror}", file=sys.stderr)
            return EXIT_USAGE
        print(f"{args.file}: reformatted", file=sys.stderr)
    return EXIT_OK


def _replace_atomically(path: Path, text: str) -> None:
    """Write beside the file, keep its permissions, then rename over it: a crash never leaves half a file."""
    temp = path.with_name(f".{path.name}.fmt-tmp")
    try:
        temp.write_text(text, encoding="utf-8")
        os.chmod(temp, path.stat().st_mode & 0o7777)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def run_show(args: argparse.Namespace) -> int:
    if args.file:
        args.config = args.file
    try:
        resolved = settings_from_args(args)
    except DslError as err:
        _print_problems(err)
        return EXIT_INVALID
    rows = flatten(resolved.config)
    width = max(len(f"{path} = {value}") for path, value in rows)
    for path, value in rows:
        line = f"{path} = {value}"
        print(f"{line.ljust(width)}  # {resolved.sources.get(path, 'default')}")
    return EXIT_OK


def run_render(args: argparse.Namespace) -> int:
    try:
        module = importlib.import_module("controller.render_cli")
    except ImportError:
        print(
            "error: rendering is not available: the controller package (controller.render_cli) "
            "is not installed",
            file=sys.stderr,
        )
        return EXIT_INVALID
    code, output = module.render_command(args.file, args.target)
    stream = sys.stdout if code == EXIT_OK else sys.stderr
    stream.write(output if output.endswith("\n") or not output else output + "\n")
    return int(code)
