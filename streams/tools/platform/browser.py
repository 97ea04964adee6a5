"""A real browser for the demo and the tests: Debian's chromium, driven by Playwright
(which cannot download browsers here, and need not), trusting the local CA and no
other unknown one, signing a person in through the identity provider's own login page.

Playwright's sync API holds an event loop on its thread while it runs: call blocking
Kafka helpers (which use ``asyncio.run``) outside it, or on a thread of their own.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from streams.tools.platform.idp import REALM, StaffAccount

CHROMIUM = "/usr/bin/chromium"
# The probe's flags: without the background-networking ones, chromium's own connections
# are refused by this machine's closed network, many at a time.
QUIET = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-gpu",  # headless: no GPU process emulating one in software
    "--disable-extensions",
    "--mute-audio",
)


class BrowserMissing(RuntimeError):
    pass


def spki(ca_file: Path) -> str:
    """The CA's public key hash, as chromium's --ignore-certificate-errors-spki-list wants."""
    certificate = x509.load_pem_x509_certificate(ca_file.read_bytes())
    der = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def launch(playwright: Playwright, ca_file: Path) -> Browser:
    """Headless chromium that trusts the local CA (the console's and Keycloak's)."""
    if shutil.which(CHROMIUM) is None:
        raise BrowserMissing(f"{CHROMIUM} is missing: `make tools` installs Debian's chromium")
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*QUIET, f"--ignore-certificate-errors-spki-list={spki(ca_file)}"],
    )


def sign_in(ctx: BrowserContext, console_url: str, person: StaffAccount) -> Page:
    """From the console's start page, through the provider's login page, as a person would."""
    page = ctx.new_page()
    page.goto(f"{console_url}/")
    page.get_by_role("button", name="Sign in").click()  # GOV.UK's start button: a link
    page.wait_for_url(re.compile(rf".*/realms/{REALM}/protocol/openid-connect/auth.*"))
    page.fill("#username", person.username)
    page.fill("#password", person.password)
    page.click("#kc-login")
    page.wait_for_url(re.compile(re.escape(console_url) + r"/.*"))
    return page
