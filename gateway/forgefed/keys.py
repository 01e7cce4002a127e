"""The actor's key pair: configured, or generated once and kept in the data dir.

Resolution, in order:
1. a private key reference (`ACTIVITYPUB_PRIVATE_KEY_PEM`, `private-key-env`/`-file` in the
   `activitypub:` block): we sign with it and publish its public half; a configured public PEM must
   then be the same key, or start-up fails;
2. a public PEM alone (`ACTIVITYPUB_PUBLIC_KEY_PEM`): published as given, but we cannot sign, so
   outbound activities go unsigned and start-up says so loudly;
3. neither: an RSA-2048 pair made on first use and kept in `<data dir>/activitypub/actor-key.pem`
   (mode 0600), so the published key stays the same across restarts.
A public PEM that does not parse (the seed's placeholder) is ignored with a warning.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dsl.model import ActivityPubConfig
from gateway.credentials.secrets import resolve_secret
from gateway.forgefed import httpsig

log = logging.getLogger(__name__)
KEY_FILE = Path("activitypub") / "actor-key.pem"


class KeyConfigurationError(Exception):
    """The configured keys cannot be used (message is safe to print)."""


@dataclass(frozen=True)
class ActorKeys:
    public_key_pem: str
    private_key: httpsig.PrivateKey | None = field(default=None, repr=False)
    source: str = "generated"


def generated_key(path: Path) -> httpsig.PrivateKey:
    """Read the kept key, or make one and keep it (created 0600, written whole before it is used)."""
    if path.exists():
        return httpsig.load_private_key(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    os.replace(tmp, path)
    return key


class KeyRing:
    """The actor's keys: configured ones are checked when the app is built (a bad key stops start-up);
    a generated pair is read or made on first use, since most gateways never federate and making
    one costs tens of milliseconds."""

    def __init__(self, config: ActivityPubConfig, environ: Mapping[str, str], data_dir: Path) -> None:
        self._keys = configured_keys(config, environ)
        self._path = data_dir / KEY_FILE

    def get(self) -> ActorKeys:
        if self._keys is None:
            key = generated_key(self._path)
            self._keys = ActorKeys(httpsig.public_pem(key), key, "generated")
        return self._keys


def configured_keys(config: ActivityPubConfig, environ: Mapping[str, str]) -> ActorKeys | None:
    """The keys the configuration names, or None when the router is to keep its own pair."""
    configured_public: httpsig.PublicKey | None = None
    if config.public_key_pem:
        try:
            configured_public = httpsig.load_public_key(config.public_key_pem)
        except ValueError:
            log.warning(
                "ACTIVITYPUB_PUBLIC_KEY_PEM is not a PEM public key; it is ignored and the actor "
                "publishes its own key (kept in the data dir)"
            )
    private_text = resolve_secret(config.private_key, environ) if config.private_key else None
    if config.private_key is not None and not private_text:
        raise KeyConfigurationError(f"the ActivityPub private key {config.private_key.describe()} is unset")
    if private_text:
        try:
            private = httpsig.load_private_key(private_text)
        except ValueError as exc:
            raise KeyConfigurationError(f"the ActivityPub private key is unusable: {exc}") from None
        if configured_public is not None and not httpsig.same_public_key(
            configured_public, private.public_key()
        ):
            raise KeyConfigurationError(
                "ACTIVITYPUB_PUBLIC_KEY_PEM is not the public half of the ActivityPub private key"
            )
        return ActorKeys(httpsig.public_pem(private), private, "configured")
    if configured_public is not None:
        log.warning(
            "ACTIVITYPUB_PUBLIC_KEY_PEM is set without a private key: outbound ActivityPub deliveries "
            "(Follow accepts, Crater offers and polls) go UNSIGNED; set ACTIVITYPUB_PRIVATE_KEY_PEM "
            "(or drop the public key to let the router keep its own pair)"
        )
        return ActorKeys(httpsig.public_pem(configured_public), None, "public-only")
    return None
