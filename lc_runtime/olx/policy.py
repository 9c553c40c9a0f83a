"""
Where a container's settings came from in OLX, so that export writes each back where it was.

A container's settings arrive as XML attributes (text) and from ``policies/<run>/policy.json`` (JSON).
Settings its block class declares become fields (JSON values, whatever their source). Settings it does
not declare are kept as written: attributes under their own name in ``extra_attributes`` (text), and
policy entries under :data:`POLICY_EXTRAS_KEY` as one JSON object — a policy value need not be text,
and ``"true"`` and ``true`` must stay different.
"""

from __future__ import annotations

import json

from lc_runtime.blocks.inheritance import InheritableFieldsMixin
from lc_runtime.olx.damaged import DAMAGE_KEY

__all__ = ["POLICY_EXTRAS_KEY", "RESERVED_EXTRA_KEYS", "attribute_text", "json_text", "known_fields"]

POLICY_EXTRAS_KEY = "{urn:lc-runtime:olx}policy"
"""The key, in a container's ``extra_attributes``, of its policy entries that no field reads."""

RESERVED_EXTRA_KEYS = frozenset({POLICY_EXTRAS_KEY, DAMAGE_KEY})
"""Keys of ``extra_attributes`` that are not OLX attributes (braces cannot start an attribute name)."""


def known_fields(block_class) -> dict:
    """The fields a block of this class has in this runtime: its own and the inheritable settings."""
    return {**InheritableFieldsMixin.fields, **block_class.fields}


def attribute_text(declared, value) -> str | None:
    """
    The OLX attribute text for a field's JSON ``value``, as the field writes it, or None when the
    attribute would not read back as the same value (then the value belongs in the policy file).
    """
    try:
        text = declared.to_string(declared.from_json(value))
        if not isinstance(text, str) or declared.to_json(declared.from_string(text)) != value:
            return None
    except Exception:  # noqa: BLE001 - field types raise ValueError, TypeError, dateutil errors, ...
        return None
    return text


def json_text(value) -> str:
    """An extra value as attribute text: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)
