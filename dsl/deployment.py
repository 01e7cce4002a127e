"""What a deployed gateway needs so its token store survives: the rule every deployment target checks (pure).

Keys, revocations and budgets must outlive a pod and be the same on every pod. With `redis:` they live in
Redis, shared by any number of gateways. Without it they live in files under the data dir: one gateway
only, on a persistent volume. `config validate --replicas N`, `config render`, the controller's status
and the charts all apply this one rule.
"""

from __future__ import annotations

from dsl.errors import Problem
from dsl.model import RouterConfig, StoragePolicy


def uses_redis(config: RouterConfig) -> bool:
    return config.redis.url is not None


def state_problems(replicas: int, config: RouterConfig, source: str) -> tuple[Problem, ...]:
    """Deployments whose token store would not survive, or would split between pods."""
    if uses_redis(config):
        return ()
    problems: list[Problem] = []
    if replicas > 1:
        problems.append(
            Problem(
                f"{replicas} replicas without redis: each pod would keep its own keys, revocations and "
                "budgets (a key revoked on one pod would still work on the others)",
                file=source,
                hint="add `redis:` with `url-env REDIS_URL` to the config, or run one replica",
            )
        )
    if config.storage.policy is StoragePolicy.MEMORY:
        problems.append(
            Problem(
                "storage policy memory without redis: every key, revocation and budget is lost when the "
                "pod restarts",
                file=source,
                hint="use storage policy both (the default) or add `redis:` to the config",
            )
        )
    return tuple(problems)
