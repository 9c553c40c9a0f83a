"""
What learners do, stored: their learner-scoped field values, their Variants and partition groups.

Rows point at openedx-core entities where they name content (a Variant's selector and pool), and
name course runs and blocks by key otherwise, so they outlive any one version of the content.
"""

from __future__ import annotations

from django.db import models
from openedx_content.models_api import PublishableEntity, PublishableEntityVersion
from openedx_django_lib.fields import case_sensitive_char_field

__all__ = ["LearnerChoicesLock", "LearnerState", "LearnerVariant", "PartitionGroup"]


class LearnerState(models.Model):
    """
    The learner-scoped XBlock fields of one (scope, learner, course run, block), as one JSON object.

    ``scope`` names the XBlock (user scope, block scope) pair, e.g. ``one.usage`` for
    ``Scope.user_state``. ``user_id`` 0 means "all learners" (``user_state_summary``); an empty
    ``course_key`` means "every course" (``preferences``, ``user_info``); ``block_key`` is a usage
    key, a block type, or empty, following the block scope.
    """

    scope = case_sensitive_char_field(max_length=16)
    user_id = models.BigIntegerField()
    course_key = case_sensitive_char_field(max_length=255, blank=True)
    block_key = case_sensitive_char_field(max_length=255, blank=True)
    state = models.JSONField(default=dict)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "user_id", "course_key", "block_key"], name="lc_learnerstate_uniq"
            )
        ]
        indexes = [models.Index(fields=["user_id", "course_key"], name="lc_learnerstate_user_course")]


class LearnerVariant(models.Model):
    """
    What one learner sees of one selector in one course run: an ordered list of pool entities.

    Exactly one row per (selector, learner, run): concurrent first visits meet on the unique
    constraint. ``selector_version`` and ``rules_version`` say which pool and which rules the list
    was made from, so that a later pool or rule change re-evaluates it by the plugin's own rules;
    ``generation`` counts resets, and with the rest it seeds every random choice, so any variant can
    be recomputed and explained.
    """

    selector = models.ForeignKey(PublishableEntity, on_delete=models.CASCADE, related_name="+")
    user_id = models.BigIntegerField()
    course_key = case_sensitive_char_field(max_length=255)
    selector_version = models.ForeignKey(
        PublishableEntityVersion, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    rules_version = models.ForeignKey(
        PublishableEntityVersion, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    entities = models.JSONField(default=list)
    # The learner's partition group, for selectors that choose by group (split_test).
    group_id = models.IntegerField(null=True, blank=True)
    generation = models.PositiveIntegerField(default=0)
    # Which request wrote the row: after a race, only the winner reports what it assigned.
    writer_token = models.CharField(max_length=32, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "lc_runtime_variant"  # its name before the plugin API took ``Variant``
        constraints = [
            models.UniqueConstraint(fields=["selector", "user_id", "course_key"], name="lc_variant_uniq")
        ]
        indexes = [models.Index(fields=["user_id", "course_key"], name="lc_variant_user_course")]

    def __str__(self) -> str:
        return f"variant of {self.selector_id} for {self.user_id} in {self.course_key}"


class PartitionGroup(models.Model):
    """
    The group one learner is in, for one user partition of one course run.

    Every split test on the partition reads the same row, so they agree. Stays put when groups are
    added to the partition; a learner whose group is removed is assigned again on the next visit.
    """

    user_id = models.BigIntegerField()
    course_key = case_sensitive_char_field(max_length=255)
    partition_id = models.IntegerField()
    group_id = models.IntegerField()
    writer_token = models.CharField(max_length=32, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "course_key", "partition_id"], name="lc_partitiongroup_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in group {self.group_id} of partition {self.partition_id} ({self.course_key})"


class LearnerChoicesLock(models.Model):
    """
    One row per (learner, course run) that holds nothing: a request locks it before it stores that
    learner's Variants or partition groups in the run, and keeps the lock until its transaction ends.

    One learner's requests then store their choices one at a time. Without it, two first visits that
    reach the learner's selectors in opposite orders each inserted a Variant the other then waited
    for, and MySQL/MariaDB broke the deadlock by aborting one of them (ADR 0016).
    """

    user_id = models.BigIntegerField()
    course_key = case_sensitive_char_field(max_length=255)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user_id", "course_key"], name="lc_choiceslock_uniq")]

    def __str__(self) -> str:
        return f"choices of {self.user_id} in {self.course_key}"
