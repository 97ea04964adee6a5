"""The console's routes, one router per concern: ``operations`` (health, metrics),
``auth`` (sign in and out), ``home`` (the start page, the accessibility statement),
``reviews`` (the review console)."""

from streams.console.routes import auth, home, operations, reviews

ROUTERS = (operations.router, auth.router, home.router, reviews.router)

__all__ = ["ROUTERS"]
