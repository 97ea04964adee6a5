"""The pages' templates: ours (``templates/``) over the GOV.UK Frontend Jinja macros
(``govuk-frontend-jinja``, pinned to the GOV.UK Frontend the assets come from)."""

from __future__ import annotations

from functools import cache

from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader
from starlette.templating import Jinja2Templates


@cache
def templates() -> Jinja2Templates:
    """One environment per process: its compiled templates are kept (compiling the GOV.UK
    macros is most of a first page's time)."""
    loader = ChoiceLoader(
        [
            PackageLoader("streams.console", "templates"),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    environment = Environment(loader=loader, autoescape=True)
    return Jinja2Templates(env=environment)
