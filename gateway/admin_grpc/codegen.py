"""Generate the admin API's Python code from `proto/` (the `make proto` target).

Runs grpc_tools.protoc in-process into a temporary tree, then flattens the package path
(`linkassistant/router/admin/v1/x_pb2.py`) into `link_assistant_router_admin/v1/` (the client
package users install) and rewrites the generated absolute imports into relative ones, so the code
imports as `link_assistant_router_admin.v1` while the proto files keep their real package path
(what reflection and grpcurl show).
The staleness test calls `generate()` into a temp dir and compares with the committed files.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO_ROOT / "proto"
PROTO_PACKAGE_DIR = Path("linkassistant/router/admin/v1")
GEN_DIR = REPO_ROOT / "link_assistant_router_admin" / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")
_ABSOLUTE_IMPORT = re.compile(r"^from linkassistant\.router\.admin\.v1 import ", re.MULTILINE)


class CodegenError(RuntimeError):
    """protoc rejected the proto files."""


def proto_files(proto_root: Path = PROTO_ROOT) -> list[Path]:
    """The admin API's .proto files, relative to `proto_root`, in a stable order."""
    return sorted(p.relative_to(proto_root) for p in (proto_root / PROTO_PACKAGE_DIR).glob("*.proto"))


def generate(out_dir: Path, proto_root: Path = PROTO_ROOT) -> list[Path]:
    """Write the generated modules for every proto file into `out_dir`; return the files written."""
    import grpc_tools
    from grpc_tools import protoc  # deferred: only codegen needs grpc_tools, never the gateway

    well_known = Path(grpc_tools.__file__).resolve().parent / "_proto"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "grpc_tools.protoc",
            f"-I{proto_root}",
            f"-I{well_known}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            *(str(p) for p in proto_files(proto_root)),
        ]
        if protoc.main(args) != 0:
            raise CodegenError("protoc failed; see the messages above")
        written = []
        for produced in sorted((Path(tmp) / PROTO_PACKAGE_DIR).iterdir()):
            if not produced.name.endswith(GENERATED_SUFFIXES):
                continue
            target = out_dir / produced.name
            target.write_text(_ABSOLUTE_IMPORT.sub("from . import ", produced.read_text()))
            written.append(target)
    return written


def generated_files(directory: Path) -> dict[str, str]:
    """Name → text of every generated module in `directory` (for the staleness comparison)."""
    return {p.name: p.read_text() for p in sorted(directory.iterdir()) if p.name.endswith(GENERATED_SUFFIXES)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate link_assistant_router_admin/v1 from proto/.")
    parser.add_argument("--out", type=Path, default=GEN_DIR)
    args = parser.parse_args(argv)
    for stale in args.out.glob("*_pb2*.py*"):
        stale.unlink()
    for path in generate(args.out):
        print(f"wrote {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
