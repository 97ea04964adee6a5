"""Who is calling: per-system API keys, kept only as SHA-256 hashes, each mapped to one
party (a Kafka principal of the access plan) and, for an agency or the council, one
organisation.

A key is 32 random bytes (``fdk_`` + URL-safe base64), so a plain SHA-256 is enough to
keep it: there is nothing to guess a password from. The keys file is JSON: a list of
``{"key_sha256", "principal", "organisation", "label"}``; ``new_key`` makes a key and
the entry for it, and the key itself is shown once, to whoever made it.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from schemas.enums import Agency
from streams.access import COUNCIL_RECORDS, agency_principal

KEY_PREFIX = "fdk_"
_HASH = re.compile(r"^[0-9a-f]{64}$")
_ORGANISATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$")


@dataclass(frozen=True)
class Party:
    """One authenticated caller: its principal, its organisation and a key id for logs."""

    principal: str
    organisation: str
    key_id: str

    @property
    def force(self) -> str | None:
        return (
            self.principal.removeprefix("police-") if self.principal.startswith("police-") else None
        )

    @property
    def agency(self) -> Agency | None:
        if not self.principal.startswith("agency-"):
            return None
        return Agency(self.principal.removeprefix("agency-"))


class CredentialsError(ValueError):
    """A keys file that cannot be used; says which entry and why, never a key."""


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _organisation_for(principal: str, organisation: str | None, forces: set[str]) -> str:
    """The organisation a credential speaks for, checked against what its principal is."""
    if principal.startswith("police-"):
        force = principal.removeprefix("police-")
        if force not in forces:
            raise CredentialsError(f"{principal} is not a force in the policy")
        if organisation not in (None, force):
            raise CredentialsError(f"a {principal} key speaks for force {force} only")
        return force
    if principal == COUNCIL_RECORDS or principal in {agency_principal(a) for a in Agency}:
        if not organisation or not _ORGANISATION.fullmatch(organisation):
            raise CredentialsError(
                f"a {principal} key needs its organisation (e.g. a council code, "
                "'urn:123456' for a school, '<council>:front-door')"
            )
        return organisation
    raise CredentialsError(f"{principal} cannot hold an HTTP key")


class Credentials:
    """API key hash -> party."""

    def __init__(self, entries: list[tuple[str, Party]]) -> None:
        self._by_hash = dict(entries)

    def __len__(self) -> int:
        return len(self._by_hash)

    def party(self, key: str | None) -> Party | None:
        if not key or not key.startswith(KEY_PREFIX) or len(key) > 200:
            return None
        return self._by_hash.get(key_hash(key))

    @classmethod
    def load(cls, path: Path, forces: set[str]) -> Credentials:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise CredentialsError(
                f"cannot read the keys file {path}: {type(exc).__name__}"
            ) from None
        if not isinstance(data, list):
            raise CredentialsError(f"{path}: expected a list of keys")
        entries: list[tuple[str, Party]] = []
        for index, entry in enumerate(data):
            where = f"{path} entry {index}"
            if not isinstance(entry, dict):
                raise CredentialsError(f"{where}: not an object")
            digest, principal = entry.get("key_sha256"), entry.get("principal")
            if not isinstance(digest, str) or not _HASH.fullmatch(digest):
                raise CredentialsError(f"{where}: key_sha256 must be 64 hex digits")
            if not isinstance(principal, str):
                raise CredentialsError(f"{where}: principal is required")
            try:
                organisation = _organisation_for(principal, entry.get("organisation"), forces)
            except CredentialsError as exc:
                raise CredentialsError(f"{where}: {exc}") from None
            entries.append((digest, Party(principal, organisation, digest[:12])))
        if len({d for d, _ in entries}) != len(entries):
            raise CredentialsError(f"{path}: the same key is listed twice")
        return cls(entries)


def add_key(
    path: Path, principal: str, organisation: str | None, label: str, forces: set[str]
) -> str:
    """A new key for ``principal``, its hash appended to the keys file (made owner-only);
    returns the key, which is stored nowhere."""
    checked = _organisation_for(principal, organisation, forces)
    key = new_key()
    entries = json.loads(path.read_text()) if path.exists() else []
    entries.append(
        {
            "key_sha256": key_hash(key),
            "principal": principal,
            "organisation": checked,
            "label": label,
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps(entries, indent=2) + "\n")
    return key
