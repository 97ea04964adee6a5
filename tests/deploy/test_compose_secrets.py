"""What docker-compose.yml mounts is there after `frontdoor kafka secrets`, and each file
is readable by the user its container runs as and by no one else (issue 27: `setup`, as
uid 10001, could not read a root-owned 0600 password; the broker, as uid 1000, none)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from streams import access
from streams.edge.credentials import Credentials
from streams.routing import load_policy
from streams.tools.platform import compose_secrets
from streams.tools.platform.compose_secrets import FRONTDOOR_UID, KAFKA_UID
from streams.tools.platform.localkafka import principals_with

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
IMAGE = Path(__file__).resolve().parents[2] / "deploy/docker/Dockerfile"


def _mounted(secrets: Path) -> tuple[dict[str, Path], Path]:
    """Each compose secret's file, and the broker's secrets directory, with
    FRONTDOOR_SECRETS set to ``secrets``."""
    text = re.sub(r"\$\{FRONTDOOR_SECRETS:-\./\.secrets\}", str(secrets), COMPOSE.read_text())
    compose = yaml.safe_load(text)
    files = {name: Path(spec["file"]) for name, spec in compose["secrets"].items()}
    (kafka_dir,) = [
        Path(volume.split(":")[0])
        for volume in compose["services"]["kafka"]["volumes"]
        if volume.split(":")[1] == "/run/secrets/kafka"
    ]
    return files, kafka_dir


def test_the_uids_are_those_the_images_run_as() -> None:
    assert f"--uid {FRONTDOOR_UID} frontdoor" in IMAGE.read_text()
    assert "USER frontdoor" in IMAGE.read_text()
    assert KAFKA_UID == 1000  # apache/kafka's Dockerfile: adduser -u 1000 appuser


def test_compose_finds_every_file_it_mounts_each_readable_by_its_container_only(
    tmp_path: Path,
) -> None:
    principals = principals_with(access.parties(load_policy(None)))
    made = compose_secrets.make(tmp_path / ".secrets", principals, ("kafka", "localhost"))
    files, kafka_dir = _mounted(made.root)

    assert kafka_dir == made.kafka
    assert {p.name for p in (kafka_dir / "passwords").iterdir()} == set(principals)
    assert (kafka_dir / "node.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    for name, path in files.items():
        assert path.is_file(), f"compose secret {name}: {path} missing"
        assert path.parent == made.frontdoor
    assert not any("authority" in str(p) for p in [*files.values(), kafka_dir])  # the CA key

    gateway = x509.load_pem_x509_certificate(files["gateway_tls"].read_bytes())
    names = gateway.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "gateway" in names.get_values_for_type(x509.DNSName)
    assert len(Credentials.load(files["gateway_keys"], {"MPS"})) == 0  # a first, empty one
    assert files["worker"].read_text() == (made.authority.root / "passwords/worker").read_text()

    for path, uid in made.owners().items():
        mode = path.stat().st_mode & 0o777
        assert mode & 0o077 == 0, f"{path}: mode {mode:o} lets others in"
        if os.geteuid() == 0:
            assert path.stat().st_uid == uid, f"{path}: owned by {path.stat().st_uid}, not {uid}"
    if os.geteuid() == 0:
        assert made.owners_needed() == []
    else:
        assert made.owners_needed() == [
            f"chown -R {KAFKA_UID}:{KAFKA_UID} {made.kafka}",
            f"chown -R {FRONTDOOR_UID}:{FRONTDOOR_UID} {made.frontdoor}",
        ]

    again = compose_secrets.make(tmp_path / ".secrets", principals, ("kafka", "localhost"))
    assert (again.kafka / "node.pem").read_bytes() == (kafka_dir / "node.pem").read_bytes()


@pytest.mark.skipif(os.geteuid() != 0, reason="reading as another user needs root")
def test_a_container_user_reads_its_own_files_and_not_the_others() -> None:
    """As the images' users would: uid 10001 reads the worker's password and not the
    broker's files; uid 1000 the other way round."""
    with tempfile.TemporaryDirectory(dir="/tmp") as scratch:  # not under pytest's 0700 dirs
        made = compose_secrets.make(Path(scratch) / "s", ["admin", "worker", "edge", "broker"], ())
        for above in (Path(scratch), made.root):  # a container sees its mount, not the path
            above.chmod(0o711)
        _each_reads_its_own(made)


def _each_reads_its_own(made: compose_secrets.ComposeSecrets) -> None:

    def reads(uid: int, path: Path) -> bool:
        probe = f"import os; os.setgid({uid}); os.setuid({uid}); open({str(path)!r}).read()"
        return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0

    assert reads(FRONTDOOR_UID, made.frontdoor / "worker")
    assert not reads(FRONTDOOR_UID, made.kafka / "passwords" / "broker")
    assert reads(KAFKA_UID, made.kafka / "passwords" / "broker")
    assert not reads(KAFKA_UID, made.frontdoor / "admin")
    assert not reads(4242, made.frontdoor / "admin")
