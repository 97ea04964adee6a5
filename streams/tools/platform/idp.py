"""A real identity provider for development, tests and the demo: Keycloak, without Docker.

The Quarkus distribution (a zip on Maven Central, ``deploy/keycloak/pom.xml``) is
resolved once and unpacked under the provider's home; ``start`` runs it in dev mode
over HTTPS (a certificate from the local broker's CA; dev mode also opens HTTP on
loopback, which the realm refuses to sign anyone in over), imports the realm
``deploy/keycloak/frontdoor-realm.json`` (roles, the console's client with PKCE, demo
staff) at its first start, and waits until its OpenID Connect discovery answers.

Secrets are made once under the home, owner-only: the bootstrap admin's password, the
console client's secret, each demo person's password. A console registers the address
it will be reached at (``register_console``) through the admin API, as a platform team
registers an application's redirect URI.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.tools.platform import pki
from streams.tools.platform.localkafka import LocalKafkaSettings

DEPLOY_DIR = Path(__file__).resolve().parents[3] / "deploy" / "keycloak"
REALM = "frontdoor"
CLIENT_ID = "frontdoor-console"
CALLBACK = "/auth/callback"


class IdpError(RuntimeError):
    pass


class IdpSettings(BaseSettings):
    """``FRONTDOOR_IDP_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_IDP_")

    port: int = Field(default=8543, ge=1, le=65534, description="HTTPS (dev mode's HTTP: +1)")
    home: Path = Field(default=Path(".local/keycloak"), description="its install, data, log")
    heap: str = Field(default="512m", description="the JVM's largest heap")
    start_timeout_s: float = 240.0

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/realms/{REALM}"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def root(self) -> Path:
        return self.home.resolve()

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    @property
    def client_secret_file(self) -> Path:
        return self.secrets_dir / "console-client-secret"

    @property
    def log_path(self) -> Path:
        return self.root / "keycloak.log"


@dataclass(frozen=True)
class StaffAccount:
    """A demo person in the realm: how they sign in, and what they may do."""

    username: str
    password: str
    name: str
    roles: tuple[str, ...]
    organisations: tuple[str, ...]


@dataclass(frozen=True)
class StartResult:
    pid: int | None
    reused: bool
    seconds: float


def _pom_digest() -> str:
    return hashlib.sha256((DEPLOY_DIR / "pom.xml").read_bytes()).hexdigest()


def ensure_zip() -> Path:
    """The distribution's zip, resolved from Maven Central once (again when the pom changes)."""
    stamp, lib = DEPLOY_DIR / ".resolved", DEPLOY_DIR / "lib"
    zips = sorted(lib.glob("keycloak-quarkus-dist-*.zip"))
    if stamp.exists() and stamp.read_text().strip() == _pom_digest() and zips:
        return zips[-1]
    if shutil.which("mvn") is None:
        raise IdpError("Maven (mvn) is needed to fetch Keycloak; install maven")
    print("resolving Keycloak from Maven Central ...", file=sys.stderr, flush=True)
    shutil.rmtree(lib, ignore_errors=True)
    subprocess.run(
        ["mvn", "-q", "-B", "-f", str(DEPLOY_DIR / "pom.xml"), "dependency:copy"], check=True
    )
    zips = sorted(lib.glob("keycloak-quarkus-dist-*.zip"))
    if not zips:
        raise IdpError(f"Maven resolved no Keycloak zip into {lib}")
    stamp.write_text(_pom_digest())
    return zips[-1]


def ensure_install(settings: IdpSettings) -> Path:
    """The distribution unpacked under the home (once per version)."""
    archive = ensure_zip()
    version = archive.stem.removeprefix("keycloak-quarkus-dist-")
    install = settings.root / f"keycloak-{version}"
    if (install / "bin" / "kc.sh").exists():
        return install
    settings.root.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.root, 0o700)
    print(f"unpacking Keycloak {version} ...", file=sys.stderr, flush=True)
    partial = settings.root / f".unpacking-{version}"
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(partial)
    (inner,) = list(partial.iterdir())
    inner.rename(install)
    partial.rmdir()
    for script in (install / "bin").glob("*.sh"):
        script.chmod(0o755)
    return install


def _secret(path: Path) -> str:
    """A random secret made once, owner-only."""
    if not path.exists():
        pki.write_private(path, secrets.token_urlsafe(24).encode())
    return path.read_text().strip()


def staff(settings: IdpSettings) -> list[StaffAccount]:
    """The realm's demo people, each with a password made once for this home."""
    realm = json.loads((DEPLOY_DIR / "frontdoor-realm.json").read_text())
    return [
        StaffAccount(
            username=user["username"],
            password=_secret(settings.secrets_dir / "users" / user["username"]),
            name=f"{user['firstName']} {user['lastName']}",
            roles=tuple(user["realmRoles"]),
            organisations=tuple(g.lstrip("/") for g in user["groups"]),
        )
        for user in realm["users"]
    ]


def _realm(settings: IdpSettings) -> dict[str, Any]:
    """The realm to import: the committed one, with this home's secrets filled in."""
    realm: dict[str, Any] = json.loads((DEPLOY_DIR / "frontdoor-realm.json").read_text())
    (client,) = realm["clients"]
    client["secret"] = _secret(settings.client_secret_file)
    passwords = {account.username: account.password for account in staff(settings)}
    for user in realm["users"]:
        user.update(
            enabled=True,
            emailVerified=True,
            requiredActions=[],
            credentials=[
                {"type": "password", "value": passwords[user["username"]], "temporary": False}
            ],
        )
    return realm


def _tls(settings: IdpSettings, kafka: LocalKafkaSettings) -> tuple[Path, Path]:
    """The provider's key and certificate, from the local CA (made if there is none yet)."""
    store = pki.ensure(kafka.secrets.root, [])
    return pki.key_and_chain(store, "keycloak")


def _pid_file(settings: IdpSettings) -> Path:
    return settings.root / "keycloak.pid"


def running_pid(settings: IdpSettings) -> int | None:
    """The pid of the Keycloak this home started, while it runs."""
    try:
        pid = int(_pid_file(settings).read_text().strip())
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ValueError, OSError, IndexError):
        return None
    if state in {"Z", "X"}:
        return None
    return pid if b"kc.sh" in cmdline or b"keycloak" in cmdline else None


def ssl_context(kafka: LocalKafkaSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(kafka.secrets.ca_file))


def answers(settings: IdpSettings, kafka: LocalKafkaSettings, timeout_s: float = 2.0) -> bool:
    """True when the realm's OpenID Connect discovery document is served over HTTPS."""
    if not kafka.secrets.ca_file.exists():
        return False
    try:
        reply = httpx.get(settings.metadata_url, verify=ssl_context(kafka), timeout=timeout_s)
    except httpx.HTTPError:
        return False
    return reply.status_code == 200 and reply.json().get("issuer") == settings.issuer


def launch(settings: IdpSettings, kafka: LocalKafkaSettings) -> subprocess.Popen[bytes] | None:
    """Start Keycloak in the background (None if this home's is already running)."""
    if running_pid(settings) is not None:
        return None
    install = ensure_install(settings)
    key, chain = _tls(settings, kafka)
    _forget_an_old_realm(install)
    imports = install / "data" / "import"
    imports.mkdir(parents=True, exist_ok=True)
    pki.write_private(imports / f"{REALM}-realm.json", json.dumps(_realm(settings)).encode())
    env = {
        **os.environ,
        "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
        "KC_BOOTSTRAP_ADMIN_PASSWORD": _secret(settings.secrets_dir / "admin"),
        "JAVA_OPTS_KC_HEAP": f"-Xms128m -Xmx{settings.heap}",
        # The client compiler only: a quarter less start-up (augmentation 17 s -> 10 s) and
        # a third less memory, for a provider that serves a few sign-ins.
        "JAVA_OPTS_APPEND": "-XX:TieredStopAtLevel=1",
    }
    command = [
        str(install / "bin" / "kc.sh"),
        "start-dev",
        "--import-realm",
        # Dev mode listens on HTTP too, whatever it is told: on loopback, on the port after
        # the HTTPS one; the realm requires TLS for everything, so it serves no sign-in.
        "--http-host=127.0.0.1",
        f"--http-port={settings.port + 1}",
        f"--https-port={settings.port}",
        f"--https-certificate-file={chain}",
        f"--https-certificate-key-file={key}",
    ]
    with settings.log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _pid_file(settings).write_text(str(process.pid))
    return process


def _forget_an_old_realm(install: Path) -> None:
    """Keycloak imports the realm only into an empty database: when the committed realm
    has changed (new demo staff, a new role), start from an empty one again."""
    digest = hashlib.sha256((DEPLOY_DIR / "frontdoor-realm.json").read_bytes()).hexdigest()
    stamp = install / "data" / "realm.sha256"
    if not stamp.exists() or stamp.read_text().strip() != digest:
        shutil.rmtree(install / "data" / "h2", ignore_errors=True)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)


def start(settings: IdpSettings, kafka: LocalKafkaSettings) -> StartResult:
    """Start (or reuse) the provider and wait until its realm answers."""
    began = time.monotonic()
    if answers(settings, kafka):
        return StartResult(running_pid(settings), True, time.monotonic() - began)
    process = launch(settings, kafka)
    while time.monotonic() < began + settings.start_timeout_s:
        if answers(settings, kafka):
            return StartResult(running_pid(settings), process is None, time.monotonic() - began)
        if process is not None and process.poll() is not None:
            raise IdpError(
                f"Keycloak exited during start-up; end of its log:\n{log_tail(settings)}"
            )
        time.sleep(0.5)
    raise IdpError(
        f"Keycloak did not answer on {settings.base_url} within "
        f"{settings.start_timeout_s:.0f} s; end of its log:\n{log_tail(settings)}"
    )


def stop(settings: IdpSettings, timeout_s: float = 30.0) -> bool:
    """Stop the provider this home started (SIGTERM to its process group, then SIGKILL)."""
    pid = running_pid(settings)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while running_pid(settings) is not None and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    if running_pid(settings) is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    _pid_file(settings).unlink(missing_ok=True)
    return True


def log_tail(settings: IdpSettings, lines: int = 30) -> str:
    if not settings.log_path.exists():
        return "(no Keycloak log yet)"
    return "\n".join(settings.log_path.read_text(errors="replace").splitlines()[-lines:])


def memory_mib(settings: IdpSettings) -> float | None:
    """The resident memory of the provider's processes (the JVM and its launcher), MiB."""
    pid = running_pid(settings)
    if pid is None:
        return None
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[2]) != pid:  # its process group: the launcher and the JVM
                continue
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1024


@contextlib.contextmanager
def _admin(settings: IdpSettings, kafka: LocalKafkaSettings) -> Iterator[httpx.Client]:
    """An admin API client, signed in as the bootstrap admin."""
    with httpx.Client(base_url=settings.base_url, verify=ssl_context(kafka), timeout=30) as client:
        yield _signed_in(client, settings)


def _signed_in(client: httpx.Client, settings: IdpSettings) -> httpx.Client:
    token = client.post(
        "/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": "admin",
            "password": _secret(settings.secrets_dir / "admin"),
        },
    )
    token.raise_for_status()
    client.headers["authorization"] = f"Bearer {token.json()['access_token']}"
    return client


def register_console(settings: IdpSettings, kafka: LocalKafkaSettings, base_url: str) -> None:
    """Allow a console reached at ``base_url`` to sign people in and out (its callback and
    its signed-out page), as the client's exact redirect URIs. Only the redirect URIs are
    sent: a whole client sent back to a just-imported realm can collide with the
    attributes Keycloak adds itself (a 409 seen on a fresh start)."""
    with _admin(settings, kafka) as admin:
        found = admin.get(f"/admin/realms/{REALM}/clients", params={"clientId": CLIENT_ID})
        found.raise_for_status()
        (client,) = found.json()
        uris = set(client.get("redirectUris", []))
        uris |= {f"{base_url}{CALLBACK}", f"{base_url}/signed-out"}
        admin.put(
            f"/admin/realms/{REALM}/clients/{client['id']}",
            json={"clientId": CLIENT_ID, "redirectUris": sorted(uris)},
        ).raise_for_status()


def console_environment(settings: IdpSettings) -> dict[str, str]:
    """The console's ``FRONTDOOR_CONSOLE_OIDC_*`` settings for this provider."""
    return {
        "FRONTDOOR_CONSOLE_OIDC_METADATA_URL": settings.metadata_url,
        "FRONTDOOR_CONSOLE_OIDC_CLIENT_ID": CLIENT_ID,
        "FRONTDOOR_CONSOLE_OIDC_CLIENT_SECRET_FILE": str(settings.client_secret_file),
    }
