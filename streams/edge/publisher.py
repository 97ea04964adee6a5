"""The gateway's producer: idempotent, ``acks=all``, so a request is answered ``202`` only
once the broker has the event on every in-sync replica (``streams.topics.follow``)."""

from streams.topics.follow import Publisher

__all__ = ["Publisher"]
