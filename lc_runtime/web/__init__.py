"""The web edge: handler and resource views, URLs and the unit-of-work middleware."""
