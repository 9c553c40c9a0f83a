"""
Our tables for course structure, beside openedx-core's.

openedx-core versions what a course *is* (components, containers, their OLX). It has no place for
what a course run adds (its key, dates, a pinned snapshot), for the settings that edx-platform keeps
on a chapter, sequential or vertical, or for the children of a leaf XBlock that has children (such as
``acid_parent``). Those live here, always pointing at openedx-core rows and never copying them.
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
    "BlockChild",
    "ContainerIdMixin",
    "ContainerSettings",
    "CourseRoot",
    "CourseRootVersion",
    "CourseRun",
    "parent_link",
]


def parent_link(parent: type[models.Model]) -> models.OneToOneField:
    """The link of a container (or container version) type of ours to openedx-core's row it extends."""
    return models.OneToOneField(parent, on_delete=models.CASCADE, parent_link=True, primary_key=True)


class ContainerIdMixin:
    """A container type's ``id`` is its entity's, as openedx-core's own container types have it."""

    @property
    def id(self) -> Container.ID:
        return cast(Container.ID, self.publishable_entity_id)


@Container.register_subclass
class CourseRoot(ContainerIdMixin, Container):
    """
    The root of a course outline: the ``<course>`` element of OLX.

    Its children are the Sections (``<chapter>``) in order, so the outline's order is versioned and
    published like any other container. Course-level settings (policy, grading, partitions) are the
    :class:`ContainerSettings` of its versions.
    """

    type_code = "lc_course"
    olx_tag_name = "course"

    container = parent_link(Container)

    @override
    @classmethod
    def validate_entity(cls, entity: PublishableEntity) -> None:
        container = getattr(entity, "container", None)
        if container is None or container.container_type.type_code != "section":
            raise ValidationError("Only Sections can be added to a course root")


class CourseRootVersion(ContainerVersion):
    """A version of a :class:`CourseRoot`: one ordering of the course's Sections."""

    container_version = parent_link(ContainerVersion)


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
