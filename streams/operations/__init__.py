"""Commands an operator runs against a deployment: product, not tooling.

- ``acl``: make the broker hold exactly the access plan (``frontdoor acl apply``), read
  back what it holds, provision or revoke a namespace;
- ``verify``: is every incident of a period audited or dead-lettered (``frontdoor verify``);
- ``whatif``: a period replayed under the live policy and a draft (``frontdoor whatif``),
  read only, the routing in forked processes for a long period.

The compliance report of a period (``frontdoor report``) is read by
``streams.topics.reports``, shared with the console's duty board.
"""

from streams.operations import acl, verify, whatif

__all__ = ["acl", "verify", "whatif"]
