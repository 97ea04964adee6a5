"""The gateway's API, one ``APIRouter`` per resource, each documenting only the answers
its routes can give: ``operations`` (health, metrics), ``publish`` (a force's incidents,
the council's child records), ``receive`` (an agency's notifications and its
acknowledgements), ``push`` (an agency's webhook)."""

from streams.edge.routes import operations, publish, push, receive

ROUTERS = (operations.router, publish.router, receive.router, push.router)

__all__ = ["ROUTERS", "operations", "publish", "push", "receive"]
