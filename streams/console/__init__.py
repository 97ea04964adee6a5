"""The console: the service where people work, signed in through the council's identity
provider (OpenID Connect), on server-rendered GOV.UK Design System pages that work
without JavaScript. Its first screen is the review console.

In the shape of the gateway: ``app`` builds the FastAPI application from the ``routes``
(operations, auth, home, reviews) and the ``pages`` helpers every route uses, over a
``Console`` (``parts``: the review ``book``, ``sessions``, ``claims``, ``signin``, the
access plan, the publisher, ``metrics``, the two clocks). ``follower`` fills the book from
the topics; ``pairs`` and ``words`` turn a possible match into what a reviewer reads;
``service`` runs it all.
"""

from streams.console.app import create_console
from streams.console.book import Pair, ReviewBook
from streams.console.claims import Claims
from streams.console.follower import Follower
from streams.console.metrics import ConsoleMetrics
from streams.console.parts import Console
from streams.console.service import assemble, run_console, serve
from streams.console.sessions import COOKIE, Session, Sessions, Staff, csrf_ok
from streams.console.settings import ConsoleSettings
from streams.console.signin import SignIn, staff_from, staff_id
from streams.console.templating import templates

__all__ = [
    "COOKIE",
    "Claims",
    "Console",
    "ConsoleMetrics",
    "ConsoleSettings",
    "Follower",
    "Pair",
    "ReviewBook",
    "Session",
    "Sessions",
    "SignIn",
    "Staff",
    "assemble",
    "create_console",
    "csrf_ok",
    "run_console",
    "serve",
    "staff_from",
    "staff_id",
    "templates",
]
