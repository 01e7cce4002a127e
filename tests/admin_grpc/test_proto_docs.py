"""Every service, method, message, field and enum value in proto/ carries a leading comment.

protoc is asked for the source info (comments) of the admin protos; a declaration without a
`// ...` line right above it fails the test with its full name, so an undocumented field cannot
slip into the public API.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2

from gateway.admin_grpc import codegen

# FileDescriptorProto / DescriptorProto / EnumDescriptorProto / ServiceDescriptorProto field numbers,
# as used in SourceCodeInfo.Location.path.
MESSAGE, ENUM, SERVICE = 4, 5, 6
FIELD, NESTED, NESTED_ENUM, ENUM_VALUE, METHOD = 2, 3, 4, 2, 2
Declarations = Iterator[tuple[tuple[int, ...], str]]


def descriptor_set(tmp_path: Path) -> descriptor_pb2.FileDescriptorSet:
    import grpc_tools
    from grpc_tools import protoc

    out = tmp_path / "admin.pb"
    well_known = Path(grpc_tools.__file__).resolve().parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{codegen.PROTO_ROOT}",
        f"-I{well_known}",
        "--include_source_info",
        f"--descriptor_set_out={out}",
        *(str(p) for p in codegen.proto_files()),
    ]
    assert protoc.main(args) == 0
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def messages(items: Iterable[Any], path: tuple[int, ...], prefix: str) -> Declarations:
    for i, message in enumerate(items):
        if message.options.map_entry:
            continue  # synthetic map<k, v> entry: documented by its field
        here, name = (*path, i), f"{prefix}.{message.name}"
        yield here, name
        for j, field in enumerate(message.field):
            yield (*here, FIELD, j), f"{name}.{field.name}"
        yield from messages(message.nested_type, (*here, NESTED), name)
        yield from enums(message.enum_type, (*here, NESTED_ENUM), name)


def enums(items: Iterable[Any], path: tuple[int, ...], prefix: str) -> Declarations:
    for i, enum in enumerate(items):
        here, name = (*path, i), f"{prefix}.{enum.name}"
        yield here, name
        for j, value in enumerate(enum.value):
            yield (*here, ENUM_VALUE, j), f"{name}.{value.name}"


def declarations(file: descriptor_pb2.FileDescriptorProto) -> Declarations:
    yield from messages(file.message_type, (MESSAGE,), file.package)
    yield from enums(file.enum_type, (ENUM,), file.package)
    for i, service in enumerate(file.service):
        name = f"{file.package}.{service.name}"
        yield (SERVICE, i), name
        for j, method in enumerate(service.method):
            yield (SERVICE, i, METHOD, j), f"{name}/{method.name}"


def test_every_declaration_has_a_comment(tmp_path: Path) -> None:
    admin_files = [f for f in descriptor_set(tmp_path).file if f.package == "linkassistant.router.admin.v1"]
    assert len(admin_files) == 5
    undocumented = []
    checked = 0
    for file in admin_files:
        comments = {
            tuple(loc.path): (loc.leading_comments + "".join(loc.leading_detached_comments)).strip()
            for loc in file.source_code_info.location
        }
        for path, name in declarations(file):
            checked += 1
            if not comments.get(path):
                undocumented.append(name)
    assert checked > 100
    assert not undocumented, f"add a // comment above: {undocumented}"
