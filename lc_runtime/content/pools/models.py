"""
The pool of a selector, as an openedx-core container of our own type.
"""

from __future__ import annotations

from typing import override

from django.core.exceptions import ValidationError
from openedx_content.models_api import Container, ContainerVersion, PublishableEntity

from lc_runtime.content.courses.models import ContainerIdMixin, parent_link

__all__ = ["SelectorPool", "SelectorPoolVersion"]


@Container.register_subclass
class SelectorPool(ContainerIdMixin, Container):
    """
    The pool of a selector (``split_test``, ``randomize``, ``library_content``, ``itembank``, plugins).

    Its entity list is the pool, in authored order. The selector's rules are not here: they are the
    OLX of the proxy component that stands for the selector in its Unit, whose versions depend on
    this container (see :mod:`lc_runtime.content.pools`, the one place that writes both).
    """

    type_code = "lc_selector"
    olx_tag_name = "lc_selector"

    container = parent_link(Container)

    class Meta:
        db_table = "lc_runtime_selector"  # its name before the plugin API took ``Selector``

    @override
    @classmethod
    def validate_entity(cls, entity: PublishableEntity) -> None:
        if hasattr(entity, "component"):
            return
        container = getattr(entity, "container", None)
        if container is None or container.container_type.type_code != "unit":
            raise ValidationError("A selector's pool holds Components and Units")


class SelectorPoolVersion(ContainerVersion):
    """A version of a :class:`SelectorPool`: one pool."""

    container_version = parent_link(ContainerVersion)

    class Meta:
        db_table = "lc_runtime_selectorversion"
