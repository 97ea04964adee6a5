"""``make demo``: a day of frontdoor on the local platform (``run``), with the HTTPS
gateway beside the worker (``edge``: half the incidents over HTTPS, the front door
acknowledging over HTTPS and pushed to by webhook)."""

from streams.tools.demo import edge, run
from streams.tools.demo.run import run_demo

__all__ = ["edge", "run", "run_demo"]
