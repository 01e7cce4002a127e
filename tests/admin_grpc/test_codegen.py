"""The committed generated code matches what `make proto` produces from proto/ now."""

from __future__ import annotations

from pathlib import Path

from gateway.admin_grpc import codegen


def test_generated_code_is_not_stale(tmp_path: Path) -> None:
    codegen.generate(tmp_path)
    fresh = codegen.generated_files(tmp_path)
    committed = codegen.generated_files(codegen.GEN_DIR)
    assert sorted(fresh) == sorted(committed), "proto files added or removed: run `make proto`"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"generated code is stale for {stale}: run `make proto`"


def test_every_service_is_in_the_admin_package() -> None:
    from link_assistant_router_admin.v1 import accounts_pb2, config_pb2, providers_pb2, tokens_pb2, usage_pb2

    services = {
        name
        for module in (tokens_pb2, accounts_pb2, providers_pb2, usage_pb2, config_pb2)
        for name in module.DESCRIPTOR.services_by_name
    }
    assert services == {"TokenService", "AccountService", "ProviderService", "UsageService", "ConfigService"}
    assert {m.DESCRIPTOR.package for m in (tokens_pb2, usage_pb2)} == {"linkassistant.router.admin.v1"}


def test_a_changed_proto_is_detected(tmp_path: Path) -> None:
    """The staleness check really compares contents: editing a proto changes the output."""
    root = tmp_path / "proto"
    for rel in codegen.proto_files():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text((codegen.PROTO_ROOT / rel).read_text())
    tokens = root / codegen.PROTO_PACKAGE_DIR / "tokens.proto"
    edited = tokens.read_text().replace("string label = 2;", "string label = 2;\n  string note = 99;", 1)
    tokens.write_text(edited)
    codegen.generate(tmp_path / "out", proto_root=root)
    changed = codegen.generated_files(tmp_path / "out")
    assert changed["tokens_pb2.py"] != codegen.generated_files(codegen.GEN_DIR)["tokens_pb2.py"]
