"""frontdoor's stream processors and the pure logic they call."""
