"""Commands an operator runs against a deployment: product, not tooling.

- ``acl``: make the broker hold exactly the access plan (``frontdoor acl apply``), read
  back what it holds, provision or revoke a namespace;
- ``verify``: is every incident of a period audited or dead-lettered (``frontdoor verify``);
- ``report``: the compliance report of a period, read from the topics (``frontdoor report``).
"""

from streams.operations import acl, report, verify

__all__ = ["acl", "report", "verify"]
