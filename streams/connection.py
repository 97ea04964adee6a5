"""Why a client cannot connect, said plainly.

aiokafka reports a wrong password, an untrusted certificate and a plaintext client on a
TLS port all as "Unable to bootstrap". Before giving up, frontdoor's own commands and the
worker open one connection themselves and name the cause. Messages name settings and
hosts, never a secret.
"""

from __future__ import annotations

import asyncio
import ssl

from streams.settings import ConnectionSettingsError, Settings


class TopicUnreadable(LookupError):
    """A topic this principal cannot read: it does not exist or the ACLs do not allow it
    (the broker answers both the same way)."""


async def _diagnose(settings: Settings, timeout_s: float) -> str | None:
    from aiokafka.conn import create_conn
    from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed
    from aiokafka.protocol.metadata import MetadataRequest

    problems = settings.connection_problems()
    if problems:
        return "; ".join(problems)
    options = settings.aiokafka_options()  # may raise ConnectionSettingsError (files)
    target = options.pop("bootstrap_servers").split(",")[0]
    host, _, port = target.rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout_s)
        writer.close()
    except (OSError, TimeoutError):
        return f"nothing answers on {target} (is the broker running? FRONTDOOR_BROKER_URL)"
    try:
        conn = await asyncio.wait_for(
            create_conn(host, int(port), request_timeout_ms=int(timeout_s * 1000), **options),
            timeout_s,
        )
        try:  # a request past the handshake: the broker answers only an authenticated client
            await asyncio.wait_for(conn.send(MetadataRequest([])), timeout_s)
        finally:
            conn.close()
    except SaslAuthenticationFailed:
        return (
            f"the broker at {target} refused user {settings.sasl_username!r}: unknown user or "
            "wrong password (FRONTDOOR_SASL_USERNAME, FRONTDOOR_SASL_PASSWORD_FILE)"
        )
    except ssl.SSLCertVerificationError as exc:
        return (
            f"the broker's certificate at {target} is not trusted ({exc.verify_message}): "
            "set FRONTDOOR_SSL_CAFILE to the CA that signed it"
        )
    except ssl.SSLError as exc:
        return f"TLS with {target} failed ({exc.reason}); is it a TLS port?"
    except (KafkaConnectionError, ConnectionError, TimeoutError):
        if settings.security_protocol == "SSL":
            return (
                f"the broker at {target} closed a TLS connection that did not log in: it "
                "expects SASL (FRONTDOOR_SECURITY_PROTOCOL=SASL_SSL and a user) or, on a "
                "controller port, a node's certificate"
            )
        if settings.security_protocol in {"PLAINTEXT", "SASL_PLAINTEXT"}:
            return (
                f"the broker at {target} closed a connection without TLS: it expects TLS "
                "(FRONTDOOR_SECURITY_PROTOCOL=SASL_SSL)"
            )
        return f"the broker at {target} closed the connection during the handshake"
    return None


def diagnose(settings: Settings, timeout_s: float = 5.0) -> str | None:
    """None if one connection to the first bootstrap server succeeds, else the reason."""
    try:
        return asyncio.run(_diagnose(settings, timeout_s))
    except ConnectionSettingsError as exc:
        return str(exc)


def require(settings: Settings) -> None:
    """Raise ``ConnectionSettingsError`` naming the cause if ``settings`` cannot connect."""
    reason = diagnose(settings)
    if reason is not None:
        raise ConnectionSettingsError(f"cannot connect to Kafka: {reason}")
