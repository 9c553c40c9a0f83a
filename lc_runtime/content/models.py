"""
lc-runtime's own tables, beside openedx-core's.

openedx-core versions what a course *is* (components, containers, their OLX). It has no place for
what a course run adds (its key, dates, a pinned snapshot), for the settings that edx-platform keeps
on a chapter, sequential or vertical, for the children of a leaf XBlock that has children (such as
``acid_parent``), or for what learners do. Those live here, always pointing at openedx-core rows and
never copying them.
"""

from __future__ import annotations

from typing import cast, override

from django.core.exceptions import ValidationError
from django.db import models
from openedx_content.models_api import (
    Container,
    ContainerVersion,
    LearningPackage,
    PublishableEntity,
    PublishableEntityVersion,
    PublishLog,
)
from openedx_django_lib.fields import case_sensitive_char_field

__all__ = [
    "AssetSettings",
    "BlockChild",
    "ContainerSettings",
    "CourseRoot",
    "CourseRootVersion",
    "CourseRun",
    "LearnerState",
    "PartitionGroup",
    "Selector",
    "SelectorVersion",
    "Variant",
]


@Container.register_subclass
class CourseRoot(Container):
    """
    The root of a course outline: the ``<course>`` element of OLX.

    Its children are the Sections (``<chapter>``) in order, so the outline's order is versioned and
    published like any other container. Course-level settings (policy, grading, partitions) are the
    :class:`ContainerSettings` of its versions.
    """

    type_code = "lc_course"
    olx_tag_name = "course"

    container = models.OneToOneField(Container, on_delete=models.CASCADE, parent_link=True, primary_key=True)

    @property
    def id(self) -> Container.ID:
        return cast(Container.ID, self.publishable_entity_id)

    @override
    @classmethod
    def validate_entity(cls, entity: PublishableEntity) -> None:
        container = getattr(entity, "container", None)
        if container is None or container.container_type.type_code != "section":
            raise ValidationError("Only Sections can be added to a course root")


class CourseRootVersion(ContainerVersion):
    """A version of a :class:`CourseRoot`: one ordering of the course's Sections."""

    container_version = models.OneToOneField(
        ContainerVersion, on_delete=models.CASCADE, parent_link=True, primary_key=True
    )


class CourseRun(models.Model):
    """
    One run of a course (``course-v1:Org+Course+Run``): a view of one LearningPackage.

    Several runs may share a package; usage keys are the run's own, the content is the package's.
    What belongs to the run alone is here: ``run_settings`` (course-level values such as ``start``
    and ``end`` that override the course root's for this run) and an optional pin. A run without a
    pin shows learners the package's latest publish; a pinned run shows the published state as of
    ``pinned_publish_log`` (a PublishLog of its own package), whatever is published later. A pin is a
    pointer, not a copy: the versions it names are immutable rows already in the package.
    """

    # Keys are case-sensitive (opaque keys are), whatever the database's default collation.
    course_key = case_sensitive_char_field(max_length=255, unique=True)
    learning_package = models.ForeignKey(LearningPackage, on_delete=models.CASCADE, related_name="+")
    root = models.ForeignKey(PublishableEntity, on_delete=models.PROTECT, related_name="+")
    run_settings = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    # RESTRICT, not PROTECT: a pinned publish cannot be deleted on its own, but deleting the whole
    # package (which cascades to its runs and its publish logs) still works.
    pinned_publish_log = models.ForeignKey(
        PublishLog, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return self.course_key


class ContainerSettings(models.Model):
    """
    The XBlock settings of one container version (``start``, ``due``, ``format``, ``graded``, ...).

    openedx-core containers have a title and children, nothing more; these are the attributes the
    OLX element carried, as ``{field_name: JSON value}``. Immutable, like the version it belongs to:
    changing a setting makes a new container version with a new row.
    """

    container_version = models.OneToOneField(
        PublishableEntityVersion, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    fields = models.JSONField(default=dict)
    # OLX attributes the container's block class does not know, kept so that export gives them back.
    extra_attributes = models.JSONField(default=dict)


class BlockChild(models.Model):
    """
    One child of a component version whose XBlock class has children (``acid_parent``, ...).

    Units hold Components, but nothing upstream lets a Component hold others. The child list is part
    of the parent version, like a container's EntityList: immutable, ordered, children unpinned.
    """

    parent_version = models.ForeignKey(PublishableEntityVersion, on_delete=models.CASCADE, related_name="+")
    order_num = models.PositiveIntegerField()
    child = models.ForeignKey(PublishableEntity, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["parent_version", "order_num"], name="lc_blockchild_uniq_order")
        ]
        ordering = ["parent_version", "order_num"]


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


@Container.register_subclass
class Selector(Container):
    """
    The pool of a selector (``split_test``, ``randomize``, ``library_content``, ``itembank``, plugins).

    Its entity list is the pool, in authored order. The selector's rules are not here: they are the
    OLX of the proxy component that stands for the selector in its Unit, whose versions depend on
    this container (see :mod:`lc_runtime.content.selectors`, the one place that writes both).
    """

    type_code = "lc_selector"
    olx_tag_name = "lc_selector"

    container = models.OneToOneField(Container, on_delete=models.CASCADE, parent_link=True, primary_key=True)

    @property
    def id(self) -> Container.ID:
        return cast(Container.ID, self.publishable_entity_id)

    @override
    @classmethod
    def validate_entity(cls, entity: PublishableEntity) -> None:
        if hasattr(entity, "component"):
            return
        container = getattr(entity, "container", None)
        if container is None or container.container_type.type_code != "unit":
            raise ValidationError("A selector's pool holds Components and Units")


class SelectorVersion(ContainerVersion):
    """A version of a :class:`Selector`: one pool."""

    container_version = models.OneToOneField(
        ContainerVersion, on_delete=models.CASCADE, parent_link=True, primary_key=True
    )


class Variant(models.Model):
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


class AssetSettings(models.Model):
    """
    What a version of a course static file carries beyond its bytes: whether it is locked.

    A course's static files are ``openedx.v1:upload`` components (ADR 0010). openedx-core leaves
    per-asset settings to the platform (its draft ADR 0013), so they live here, one row per
    component version and only for locked ones: no row means not locked. Immutable, like the version:
    locking or unlocking a file makes its next version.
    """

    component_version = models.OneToOneField(
        PublishableEntityVersion, on_delete=models.CASCADE, primary_key=True, related_name="lc_asset_settings"
    )
    # Served only to logged-in users (edx-platform's "locked" assets; enrollment is the host's to check).
    locked = models.BooleanField(default=False)
