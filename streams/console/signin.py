"""Staff sign-in with OpenID Connect: the authorization code flow with PKCE (S256), against
any provider by configuration (Keycloak locally, Microsoft Entra ID in a council), with
authlib. Sign-out ends the session at the provider too (RP-initiated logout).

The ID token (signature, issuer, audience, expiry and nonce checked by authlib) names
the person; their roles and organisation come from claims whose names are settings, and
map onto the access plan's parties (``streams.access.acting_as``).
"""

from __future__ import annotations

import hashlib
import re
import ssl
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import authlib.deprecate  # noqa: F401  (first: it installs an "always" filter of its own)
from starlette.requests import Request
from starlette.responses import RedirectResponse

with warnings.catch_warnings():  # authlib 1.9 warns on import about httpx's deprecations
    warnings.simplefilter("ignore")
    from authlib.integrations.starlette_client import OAuth, OAuthError

from schemas.envelope import ID_PATTERN
from streams.access import acting_as
from streams.console.sessions import Staff
from streams.console.settings import ConsoleSettings
from streams.routing import Policy

CALLBACK = "/auth/callback"
SIGNED_OUT = "/signed-out"
_ID = re.compile(ID_PATTERN)


@dataclass(frozen=True)
class ProviderSignOut:
    """The provider's end-session endpoint and the form fields to POST to it."""

    endpoint: str
    client_id: str
    after: str  # back to the console's signed-out page
    id_token: str


class SignInFailed(Exception):
    """The provider refused, or its answer did not check out; the message names no person."""


def staff_id(subject: str) -> str:
    """The provider's subject as a staff id: as it is when it is a plain id (Keycloak's
    UUIDs, Entra ID's pairwise ids), else a digest of it. Never an email address."""
    if _ID.fullmatch(subject) and "@" not in subject:
        return subject
    return "sub-" + hashlib.sha256(subject.encode()).hexdigest()[:32]


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def staff_from(claims: Mapping[str, Any], settings: ConsoleSettings, policy: Policy) -> Staff:
    """The person an ID token names, and what they may act as."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise SignInFailed("the ID token names no subject")
    roles = _strings(claims.get(settings.roles_claim))
    organisations = _strings(claims.get(settings.organisation_claim))
    name = claims.get(settings.name_claim)
    return Staff(
        staff_id=staff_id(subject),
        name=name if isinstance(name, str) and name else "Member of staff",
        roles=roles,
        organisations=organisations,
        acting=tuple(acting_as(roles, organisations, policy)),
    )


class SignIn:
    """The console's OpenID Connect client (one provider)."""

    def __init__(self, settings: ConsoleSettings, policy: Policy) -> None:
        self.settings, self.policy = settings, policy
        verify: ssl.SSLContext | bool = True
        if settings.oidc_ca_file is not None:
            verify = ssl.create_default_context(cafile=str(settings.oidc_ca_file))
        oauth = OAuth()
        self.client = oauth.register(
            "provider",
            client_id=settings.oidc_client_id,
            client_secret=settings.client_secret(),
            server_metadata_url=settings.oidc_metadata_url,
            client_kwargs={
                "scope": settings.oidc_scopes,
                "code_challenge_method": "S256",
                "verify": verify,
                "timeout": 15,
            },
        )

    async def start(self, request: Request) -> RedirectResponse:
        """Send the browser to the provider (state, nonce and PKCE verifier kept in the
        server-side session)."""
        redirect: RedirectResponse = await self.client.authorize_redirect(
            request, self.settings.base_url + CALLBACK
        )
        return redirect

    async def finish(self, request: Request) -> Staff:
        """The provider sent the browser back: exchange the code, check the ID token."""
        try:
            token = await self.client.authorize_access_token(request)
        except OAuthError as error:
            raise SignInFailed(f"the provider refused the sign-in ({error.error})") from None
        claims = token.get("userinfo")
        if not claims:
            raise SignInFailed("the provider returned no ID token")
        staff = staff_from(claims, self.settings, self.policy)
        return Staff(
            staff.staff_id,
            staff.name,
            staff.roles,
            staff.organisations,
            staff.acting,
            id_token=str(token.get("id_token", "")),
        )

    async def end(self, id_token: str) -> ProviderSignOut | None:
        """What signs the person out at the provider too (None if it cannot): a form to
        POST, never an address carrying the ID token (RP-initiated logout allows both)."""
        metadata = await self.client.load_server_metadata()
        endpoint = metadata.get("end_session_endpoint")
        if not endpoint:
            return None
        after = self.settings.base_url + SIGNED_OUT
        return ProviderSignOut(str(endpoint), self.settings.oidc_client_id, after, id_token)
