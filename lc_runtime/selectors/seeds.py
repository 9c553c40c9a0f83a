"""Reproducible randomness for selectors: every draw comes from a generator seeded by what it is for."""

from __future__ import annotations

import hashlib
import hmac
import random

from django.conf import settings

from lc_runtime.conf import get_setting

__all__ = ["seeded_random"]


def _secret() -> bytes:
    configured = get_setting("SELECTOR_SEED_SECRET")
    if configured:
        return configured.encode()
    # Derived, not SECRET_KEY itself: seeds must not help anyone guess the key.
    return hmac.new(settings.SECRET_KEY.encode(), b"lc_runtime.selectors.seed", hashlib.sha256).digest()


def seeded_random(*parts: object) -> random.Random:
    """
    A generator seeded by ``parts`` (selector, learner, run, ...) and the deployment's secret.

    The same parts give the same draws in every process, so a Variant can be recomputed and
    explained; learners cannot predict each other's draws without the secret.
    """
    message = "\x1f".join(str(part) for part in parts).encode()
    digest = hmac.new(_secret(), message, hashlib.sha256).digest()
    return random.Random(int.from_bytes(digest, "big"))
