"""The console's routes, one router per concern: ``operations`` (health, metrics),
``auth`` (sign in and out), ``home`` (the start page, the accessibility statement),
``reviews`` (the review console), ``inbox`` (the agency inbox), ``duty`` (the duty
board), ``whatif`` (a policy officer's what-if)."""

from streams.console.routes import auth, duty, home, inbox, operations, reviews, whatif

ROUTERS = (
    operations.router,
    auth.router,
    home.router,
    reviews.router,
    inbox.router,
    duty.router,
    whatif.router,
)

__all__ = ["ROUTERS"]
