"""The one form of upsert learner rows use to create a row and lock it, whether or not it existed."""

from __future__ import annotations

from typing import Any

from django.db import connections, router
from django.db.models import Model


def touching_upsert(model: type[Model], unique_fields: list[str]) -> dict[str, Any]:
    """
    ``bulk_create`` options for an INSERT that, on a row that exists, touches its ``modified`` instead.

    On MySQL/InnoDB such an upsert takes an *exclusive* lock on the row it finds, which a plain
    INSERT meeting a duplicate does not (it takes a shared lock, and two requests that both hold one
    and go on to write the row deadlock); PostgreSQL's ``ON CONFLICT DO UPDATE`` locks the row too.
    ``unique_fields`` names the conflict target where the database takes one (MySQL takes none).
    """
    options: dict[str, Any] = {"update_conflicts": True, "update_fields": ["modified"]}
    if connections[router.db_for_write(model)].features.supports_update_conflicts_with_target:
        options["unique_fields"] = unique_fields
    return options
