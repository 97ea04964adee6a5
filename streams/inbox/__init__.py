"""One inbox, whatever the channel: each organisation's notifications as the gateway's API,
its webhooks and the console's inbox all show them (``view``: latest revision, the
acknowledgement state), and the one way an acknowledgement is made for a recipient
(``acknowledging``). Pure: fed the topics by whichever service holds it."""

from streams.inbox.acknowledging import acknowledge, acknowledgement_id
from streams.inbox.view import (
    BadCursor,
    Held,
    Inbox,
    Owner,
    Status,
    decode_cursor,
    encode_cursor,
)

__all__ = [
    "BadCursor",
    "Held",
    "Inbox",
    "Owner",
    "Status",
    "acknowledge",
    "acknowledgement_id",
    "decode_cursor",
    "encode_cursor",
]
