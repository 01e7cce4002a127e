"""Pure pieces of the controller: spec parsing, status conditions, the work queue's backoff, events, and
`config render` on arbitrary text (never a traceback)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.configcheck import ConfigCheck, check_resource, config_hash
from controller.events import build_event
from controller.render_cli import Target, render_text
from controller.spec import RouterConfigResource, SpecError, parse_resource
from controller.status import compute_status
from controller.workqueue import WorkQueue
from dsl.errors import Problem
from dsl.model import RedisConfig, RouterConfig, SecretRef


def obj(spec: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "r", "namespace": "ns", "uid": "u", "generation": 3}, "spec": spec}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "spec.config must be a non-empty string"),
        ({"config": ""}, "spec.config must be a non-empty string"),
        ({"config": "x", "replicas": -1}, "spec.replicas must be an integer >= 0"),
        ({"config": "x", "replicas": "two"}, "spec.replicas must be an integer >= 0"),
        (
            {"config": "x", "tokenSecretRef": {"name": "s"}},
            "spec.tokenSecretRef.key must be a non-empty string",
        ),
        (
            {"config": "x", "providerKeyRefs": [{"env": "K"}]},
            "spec.providerKeyRefs[0].secretKeyRef is required",
        ),
        ({"config": "x", "resources": {"limits": "lots"}}, "spec.resources.limits must be an object"),
    ],
)
def test_malformed_specs_are_refused_with_the_field_named(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_resource(obj(spec))


def test_spec_defaults() -> None:
    resource = parse_resource(obj({"config": "server:\n  port 1\n"}), default_image="img:1")
    assert (resource.replicas, resource.image, resource.default_secret) == (1, "img:1", "r-secrets")
    assert (resource.generation, resource.uid, resource.service_type) == (3, "u", "ClusterIP")


def test_credential_ref_to_an_undeclared_account_is_a_problem() -> None:
    resource = parse_resource(
        obj(
            {
                "config": "accounts:\n  main:\n    oauth-home /data/claude/main\n",
                "accountCredentialRefs": [{"account": "mian", "secretName": "s"}],
            }
        )
    )
    check = check_resource(resource)
    assert not check.valid
    assert "account 'mian' is not declared" in check.message() and "main" in check.message()


def test_dsl_errors_keep_line_and_column() -> None:
    check = check_resource(RouterConfigResource(name="r", namespace="ns", config="server:\n  port abc\n"))
    assert not check.valid
    assert check.problems[0].line == 2 and check.problems[0].column == 3
    assert check.message().startswith("ns/r/spec.config:2:3:")


NOW, LATER = "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"


def test_conditions_keep_their_transition_time_until_the_status_flips() -> None:
    resource = RouterConfigResource(name="r", namespace="ns", config="x", replicas=2, generation=4)
    shared = RouterConfig(redis=RedisConfig(url=SecretRef(env="REDIS_URL")))  # two replicas share state
    valid = ConfigCheck(config=shared)
    first = compute_status(resource, valid, {"status": {"readyReplicas": 1}}, {}, NOW)
    assert [(c["type"], c["status"], c["reason"]) for c in first["conditions"]] == [
        ("ConfigValid", "True", "Valid"),
        ("Ready", "False", "ReplicasNotReady"),
    ]
    assert first["configHash"] == config_hash("x") and first["observedGeneration"] == 4
    same = compute_status(resource, valid, {"status": {"readyReplicas": 1}}, first, LATER)
    assert same == first  # nothing changed: identical status, no write needed
    ready = compute_status(resource, valid, {"status": {"readyReplicas": 2}}, first, LATER)
    assert ready["conditions"][0]["lastTransitionTime"] == NOW
    assert ready["conditions"][1] | {"lastTransitionTime": None} == {
        "type": "Ready",
        "status": "True",
        "reason": "ReplicasReady",
        "message": "2/2 gateway replicas ready",
        "observedGeneration": 4,
        "lastTransitionTime": None,
    }
    assert ready["conditions"][1]["lastTransitionTime"] == LATER


def test_invalid_config_keeps_the_running_hash() -> None:
    resource = RouterConfigResource(name="r", namespace="ns", config="bad")
    check = ConfigCheck(config=None, problems=(Problem("boom", file="f", line=1, column=2),))
    status = compute_status(resource, check, None, {"configHash": "old"}, NOW)
    assert status["configHash"] == "old"
    assert status["conditions"][0]["message"] == "f:1:2: boom"
    assert status["conditions"][1]["reason"] == "NoDeployment"


def test_work_queue_deduplicates_and_backs_off() -> None:
    now = [100.0]
    queue = WorkQueue(base_delay=1.0, max_delay=4.0, clock=lambda: now[0])
    queue.add(("ns", "a"))
    queue.add(("ns", "a"))
    assert len(queue) == 1
    assert queue.get(0) == ("ns", "a") and queue.get(0) is None
    assert [queue.retry(("ns", "a")) for _ in range(4)] == [1.0, 2.0, 4.0, 4.0]
    assert queue.get(0) is None  # not due yet
    now[0] += 1.0
    assert queue.get(0) == ("ns", "a")
    queue.forget(("ns", "a"))
    assert queue.retry(("ns", "a")) == 1.0


def test_events_point_at_the_router_config() -> None:
    resource = RouterConfigResource(name="r", namespace="ns", config="x", uid="u")
    event = build_event(resource, "Warning", "InvalidConfig", "f:1:2: boom", NOW)
    assert event["involvedObject"] == {
        "apiVersion": "router.link-assistant.dev/v1alpha1",
        "kind": "RouterConfig",
        "name": "r",
        "namespace": "ns",
        "uid": "u",
    }
    assert event["metadata"]["name"].startswith("r.") and event["type"] == "Warning"
    kubernetes_validate.validate(event, "1.30.0", strict=True)
    assert (
        build_event(resource, "Warning", "InvalidConfig", "other", NOW)["metadata"]["name"]
        != event["metadata"]["name"]
    )


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200), target=st.sampled_from(list(Target)))
def test_render_of_any_text_ends_in_output_or_problems(text: str, target: Target) -> None:
    code, out = render_text("fuzz", text or "x", "fuzz.lino", target)
    assert code in (0, 1)
    assert out.endswith("\n")
    if code == 1:
        assert "fuzz.lino" in out


@pytest.mark.parametrize("name", ["9lives", "a" * 48, "has.dot", "Upper"])
def test_names_that_cannot_name_a_service_are_refused(name: str) -> None:
    check = check_resource(RouterConfigResource(name=name, namespace="ns", config="server:\n  port 8080\n"))
    assert not check.valid and check.problems[0].file == "metadata.name"


def test_render_derives_a_valid_name_from_any_file_name() -> None:
    code, out = render_text("2024 Router.prod", "server:\n  port 8080\n", "x.lino", Target.KUBERNETES)
    assert code == 0 and "name: r-2024-router-prod\n" in out


def test_two_things_at_one_mount_path_are_refused() -> None:
    config = "storage:\n  data-dir /srv/claude\naccounts:\n  main:\n    oauth-home /srv/claude\n"
    check = check_resource(RouterConfigResource(name="r", namespace="ns", config=config))
    assert not check.valid
    assert "data and claude-main would both be mounted at /srv/claude" in check.message()


def test_a_data_dir_in_the_home_shares_the_home_volume() -> None:
    check = check_resource(RouterConfigResource(name="r", namespace="ns", config="storage:\n  data-dir ~\n"))
    assert check.valid, check.message()


def test_additional_account_dirs_get_their_own_credential_secrets() -> None:
    config = "upstream:\n  additional-account-dirs /data/claude-2,/data/claude-3\n"
    resource = parse_resource(
        obj({"config": config, "accountCredentialRefs": [{"account": "claude-3", "secretName": "third"}]})
    )
    check = check_resource(resource)
    assert check.valid and check.config is not None, check.message()
    from controller.podspec import pod_wiring

    wiring = pod_wiring(resource, check.config)
    mounts = {m["mountPath"]: m["name"] for m in wiring.mounts}
    secrets = {v["name"]: v["secret"]["secretName"] for v in wiring.volumes if "secret" in v}
    assert secrets[mounts["/data/claude-2"]] == "r-claude-claude-2"
    assert secrets[mounts["/data/claude-3"]] == "third"
    assert "/data/claude" not in mounts  # multi-account: the primary home is not mounted on its own


def test_two_secret_files_with_one_name_are_refused() -> None:
    config = (
        "accounts:\n  a:\n    api-key-file /run/secrets/a/key\n  b:\n    api-key-file /run/secrets/b/key\n"
    )
    check = check_resource(RouterConfigResource(name="r", namespace="ns", config=config))
    assert not check.valid
    assert "would read the same Secret key 'key'" in check.message()


@pytest.mark.parametrize(
    ("replicas", "config", "refused"),
    [
        (2, "server:\n  port 8080\n", True),
        (1, "server:\n  port 8080\n", False),
        (2, "redis:\n  url-env REDIS_URL\n", False),
    ],
)
def test_several_replicas_without_redis_are_a_config_error(replicas: int, config: str, refused: bool) -> None:
    """Each pod would keep its own keys, revocations and budgets: the status says invalid, and why."""
    resource = RouterConfigResource(name="r", namespace="ns", config=config, replicas=replicas)
    check = check_resource(resource)
    assert check.valid is not refused, check.message()
    valid = compute_status(resource, check, None, {}, NOW)["conditions"][0]
    assert (valid["status"] == "False") is refused, valid
    if refused:
        assert (
            "2 replicas without redis: each pod would keep its own keys, revocations and budgets"
            in (valid["message"])
        )
        assert "url-env REDIS_URL" in valid["message"]


def test_ready_waits_for_the_roll_out_of_the_current_config() -> None:
    resource = RouterConfigResource(name="r", namespace="ns", config="x", replicas=2)
    valid = ConfigCheck(config=RouterConfig())

    def ready(deployment: dict[str, Any]) -> tuple[str, str]:
        cond = compute_status(resource, valid, deployment, {}, NOW)["conditions"][1]
        return cond["status"], cond["reason"]

    old_pods_ready = {"metadata": {"generation": 5}, "status": {"observedGeneration": 4, "readyReplicas": 2}}
    assert ready(old_pods_ready) == ("False", "RollingOut")
    half_way = {
        "metadata": {"generation": 5},
        "status": {"observedGeneration": 5, "readyReplicas": 2, "updatedReplicas": 1},
    }
    assert ready(half_way) == ("False", "RollingOut")
    done = {
        "metadata": {"generation": 5},
        "status": {"observedGeneration": 5, "readyReplicas": 2, "updatedReplicas": 2},
    }
    assert ready(done) == ("True", "ReplicasReady")


def test_render_command_bad_inputs_are_usage_errors(tmp_path: Any) -> None:
    from controller.render_cli import render_command

    assert render_command(str(tmp_path / "missing.lino"), "akash")[0] == 2
    assert render_command(str(tmp_path), "kubernetes") == (2, f"cannot read {tmp_path}: Is a directory\n")
    binary = tmp_path / "blob.lino"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert render_command(str(binary), "kubernetes") == (2, f"cannot read {binary}: not UTF-8 text\n")
    good = tmp_path / "good.lino"
    good.write_text("server:\n  port 8080\n")
    code, text = render_command(str(good), "docker-compose")
    assert code == 2 and "expected one of: kubernetes, helm-values, akash" in text
    empty = tmp_path / "empty.lino"
    empty.write_text("\n  \n")
    assert render_command(str(empty), "kubernetes") == (1, f"{empty}: the config file is empty\n")
