"""The controller's thin Kubernetes API client: list, watch, get, server-side apply, status, events.

I/O only, on top of the official `kubernetes` client's configured ApiClient (TLS, tokens, kubeconfig).
No decisions here: callers get plain dicts, and every API failure becomes a `KubeApiError` that says
whether retrying can help.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import urllib3
from kubernetes import client as k8s

from controller import names

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"

# Where each child kind lives in the API (the controller only ever writes these).
_PLURALS: dict[tuple[str, str], str] = {
    ("v1", "ConfigMap"): "configmaps",
    ("v1", "Service"): "services",
    ("v1", "Event"): "events",
    ("apps/v1", "Deployment"): "deployments",
    ("policy/v1", "PodDisruptionBudget"): "poddisruptionbudgets",
    ("coordination.k8s.io/v1", "Lease"): "leases",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitors",
    (names.API_VERSION, names.KIND): names.PLURAL,
}


class KubeApiError(Exception):
    """An API call failed. `status` 0 means the server could not be reached."""

    def __init__(self, status: int, reason: str, message: str = "") -> None:
        super().__init__(f"{status} {reason}: {message}".strip(": "))
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def retryable(self) -> bool:
        """Conflicts, throttling, server errors and lost connections pass; bad requests do not."""
        return self.status in (0, 409, 429) or self.status >= 500


def object_path(api_version: str, kind: str, namespace: str | None, name: str | None = None) -> str:
    plural = _PLURALS[(api_version, kind)]
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    path = f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"
    return f"{path}/{name}" if name else path


class KubeClient:
    """Blocking calls with bounded timeouts; safe to share between the loop's threads."""

    def __init__(self, api_client: k8s.ApiClient, timeout: float = 30.0) -> None:
        self._api = api_client
        self._timeout = timeout
        self._watches: set[Any] = set()
        self._lock = threading.Lock()

    def _send(
        self,
        method: str,
        path: str,
        query: list[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: Any = None,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        _, url, headers, _, _ = self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=query or [],
            header_params=headers,
            auth_settings=["BearerToken"],
        )
        try:  # the REST layer serialises dict bodies as JSON (valid YAML for apply patches too)
            response = self._api.call_api(
                method, url, header_params=headers, body=body, _request_timeout=timeout or self._timeout
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise KubeApiError(0, "Unreachable", type(exc).__name__) from exc
        except k8s.ApiException as exc:
            raise KubeApiError(exc.status or 0, str(exc.reason or "Error")) from exc
        return response

    def _json(self, response: Any) -> dict[str, Any]:
        data = response.read()
        try:
            parsed = json.loads(data) if data else {}
        except ValueError:
            parsed = {}
        if not 200 <= response.status < 300:
            raise KubeApiError(
                response.status,
                str(parsed.get("reason") or response.reason),
                str(parsed.get("message") or ""),
            )
        return parsed if isinstance(parsed, dict) else {}

    def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self._json(self._send(method, path, **kwargs))

    def get(self, path: str) -> dict[str, Any] | None:
        """The object at `path`, or None when it does not exist."""
        try:
            return self.request("GET", path)
        except KubeApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, path: str, selector: str = "") -> tuple[list[dict[str, Any]], str]:
        """Items and the list's resourceVersion (where a watch should continue)."""
        data = self.request("GET", path, query=[("labelSelector", selector)] if selector else None)
        version = str((data.get("metadata") or {}).get("resourceVersion") or "")
        return list(data.get("items") or []), version

    def apply(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply under the controller's fixed field manager, never forced: a field another
        manager owns is a 409 conflict, not silently taken over."""
        meta = manifest["metadata"]
        path = object_path(manifest["apiVersion"], manifest["kind"], meta.get("namespace"), meta["name"])
        query = [("fieldManager", names.FIELD_MANAGER)]
        return self.request("PATCH", path, query=query, body=dict(manifest), content_type=APPLY)

    def delete(self, path: str) -> bool:
        """Delete if present; True when something was deleted."""
        try:
            self.request("DELETE", path)
        except KubeApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> dict[str, Any]:
        path = object_path(names.API_VERSION, names.KIND, namespace, name) + "/status"
        return self.request("PATCH", path, body={"status": dict(status)}, content_type=MERGE)

    def create_event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        path = object_path("v1", "Event", event["metadata"]["namespace"])
        return self.request("POST", path, body=dict(event))

    def watch(
        self, path: str, resource_version: str, timeout_seconds: int, selector: str = ""
    ) -> Iterator[dict[str, Any]]:
        """Watch events (`{"type", "object"}`) until the server closes the stream or it goes quiet.

        Bounded: the server is asked to end after `timeout_seconds`, and a read that stays silent
        longer than that ends the stream from our side too.
        """
        query: list[tuple[str, Any]] = [("watch", "true"), ("timeoutSeconds", timeout_seconds)]
        if selector:
            query.append(("labelSelector", selector))
        if resource_version:
            query.append(("resourceVersion", resource_version))
            query.append(("allowWatchBookmarks", "true"))
        response = self._send("GET", path, query=query, timeout=(10, timeout_seconds + 2))
        if not 200 <= response.status < 300:
            self._json(response)
        buffer = b""
        with self._lock:
            self._watches.add(response.response)
        try:
            for chunk in response.response.stream(amt=None, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
        except (urllib3.exceptions.HTTPError, OSError, ValueError):
            return  # a quiet or broken stream just ends this watch; the caller lists again
        finally:
            with self._lock:
                self._watches.discard(response.response)
            response.response.release_conn()

    def interrupt_watches(self) -> None:
        """End every open watch now (on shutdown), instead of waiting for its timeout."""
        with self._lock:
            streams = list(self._watches)
        for stream in streams:
            with contextlib.suppress(OSError, AttributeError, RuntimeError, ValueError):  # already ended
                stream.shutdown()
