"""The secrets ``docker-compose.yml`` mounts, each readable by the user its container runs
as and by no one else.

Compose (v1, and v2 without swarm) bind-mounts a secret file as it is on the host: its
owner and mode are what the container sees, whatever ``uid``/``mode`` the file says. So
the files are written here for the containers' users: the broker's (``apache/kafka``
runs as uid 1000) in ``kafka/``, mounted whole; frontdoor's (uid 10001, from
``deploy/docker/Dockerfile``) in ``frontdoor/``, one compose secret each. The CA's key
stays in ``authority/``, which no container mounts. As root they are given to those
users; otherwise they stay the caller's, and ``owners_needed`` says what to run (on
rootless podman, ``podman unshare chown``: a container's uid 1000 is another uid on the
host). Made once and copied again on every run, so a run as root after one without
fixes the owners.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from streams.tools.platform import pki

KAFKA_UID = 1000  # apache/kafka's appuser
FRONTDOOR_UID = 10001  # deploy/docker/Dockerfile's frontdoor user
CLIENTS = ("admin", "worker", "edge")  # the frontdoor services' principals in compose
GATEWAY_HOSTS = ("gateway", "localhost", "127.0.0.1")


@dataclass(frozen=True)
class ComposeSecrets:
    root: Path

    @property
    def authority(self) -> pki.Secrets:
        """The CA (its key too) and the originals: never mounted."""
        return pki.Secrets(self.root / "authority")

    @property
    def kafka(self) -> Path:
        """Mounted whole at /run/secrets/kafka in the broker's container."""
        return self.root / "kafka"

    @property
    def frontdoor(self) -> Path:
        """One file per compose secret of the frontdoor services."""
        return self.root / "frontdoor"

    def owners(self) -> dict[Path, int]:
        """Every mounted file and directory, and the uid that must own it."""
        owned = {self.kafka: KAFKA_UID, self.frontdoor: FRONTDOOR_UID}
        for path in self.kafka.rglob("*"):
            owned[path] = KAFKA_UID
        for path in self.frontdoor.iterdir():
            owned[path] = FRONTDOOR_UID
        return owned

    def owners_needed(self) -> list[str]:
        """Commands that would give each mounted file to its container's user (empty when
        they are given already)."""
        wrong = {path for path, uid in self.owners().items() if path.stat().st_uid != uid}
        commands = []
        for directory, uid in ((self.kafka, KAFKA_UID), (self.frontdoor, FRONTDOOR_UID)):
            if any(p == directory or directory in p.parents for p in wrong):
                commands.append(f"chown -R {uid}:{uid} {directory}")
        return commands


def make(root: Path, principals: list[str], broker_hosts: tuple[str, ...]) -> ComposeSecrets:
    """Everything compose mounts: the broker's CA, certificate and every principal's
    password; the frontdoor services' passwords, the CA certificate, the gateway's key and
    certificate (for ``GATEWAY_HOSTS``) and a first API keys file (empty: add keys with
    ``frontdoor gateway key``, then restart the gateway)."""
    made = ComposeSecrets(root.resolve())
    made.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(made.root, 0o700)
    authority = pki.ensure(made.authority.root, principals, broker_hosts)
    gateway = pki.server_certificate(authority, "gateway", GATEWAY_HOSTS)
    keys = authority.root / "gateway-keys.json"
    if not keys.exists():
        pki.write_private(keys, json.dumps([]).encode() + b"\n")

    _copy(authority.node_file, made.kafka / "node.pem")
    _copy(authority.ca_file, made.kafka / "ca.pem")
    for principal in principals:
        _copy(authority.password_file(principal), made.kafka / "passwords" / principal)
    for principal in CLIENTS:
        _copy(authority.password_file(principal), made.frontdoor / principal)
    _copy(authority.ca_file, made.frontdoor / "ca.pem")
    _copy(gateway, made.frontdoor / "gateway.pem")
    _copy(keys, made.frontdoor / "gateway-keys.json")
    if os.geteuid() == 0:
        for path, uid in made.owners().items():
            os.chown(path, uid, uid)
    return made


def _copy(source: Path, target: Path) -> None:
    """Owner-only from the moment it exists (``pki.write_private``: directories 0700), then
    0400: nothing in a container writes them."""
    if target.exists():
        os.chmod(target, 0o600)
    pki.write_private(target, source.read_bytes())
    os.chmod(target, 0o400)
