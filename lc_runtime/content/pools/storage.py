"""
Storing selectors: the one place that writes a selector's pool and its proxy.

A selector (``split_test``, ``randomize``, ``library_content``, ``itembank`` or a plugin's) is two
entities. Its *pool* is a :class:`~lc_runtime.content.pools.models.SelectorPool` container. Its
*rules* are the OLX of a proxy component ``xblock.v1:<tag>``, which stands in the parent Unit (Units
hold only Components) and whose versions depend on the pool container, so that publishing the Unit
publishes the selector and its pool, and a pool edit shows as an unpublished change of the Unit.

openedx-core records a dependency per *version*. The course writer
(:class:`~lc_runtime.content.courses.writer.CourseWriter`) declares a component's dependencies in the
draft change that creates each version, and carries them to the next version when a block saves
itself; this module only says which pool a proxy depends on, and keeps the rules in the proxy's
OLX (never on the container: new container versions would drop them).
"""

from __future__ import annotations

from collections.abc import Sequence

from openedx_content.models_api import PublishableEntityVersionDependency

from lc_runtime.content.courses.api import CourseWriter, set_entity_list
from lc_runtime.content.pools.models import SelectorPool
from lc_runtime.keys import container_code

SYNTHETIC_UNIT_SUFFIX = "__lc_unit"
"""Appended to a selector's id to name the Unit that wraps it when it stands directly in a Subsection."""
SYNTHETIC_UNIT_MARK = "lc_synthetic_unit_for"
"""Key in a wrapper Unit's ``ContainerSettings.extra_attributes``: the tag of the selector it wraps."""


def selector_pool_of(version_id: int) -> int | None:
    """The pool container a proxy component version depends on, or None if it is not a proxy."""
    return (
        PublishableEntityVersionDependency.objects.filter(
            referring_version_id=version_id,
            referenced_entity__container__container_type__type_code=SelectorPool.type_code,
        )
        .values_list("referenced_entity_id", flat=True)
        .first()
    )


def write_selector(
    writer: CourseWriter, block_type: str, block_id: str, rules_olx: str, title: str, pool: Sequence[int]
) -> int:
    """
    Store one selector: ``pool`` (entity ids, in order) as its pool container, ``rules_olx`` (the
    selector's element without children) as its proxy component; return the proxy's entity id.

    Creates a version of either only when it changed, and always declares the proxy version's
    dependency on the pool in the same draft change log.
    """
    with writer.changes():
        pool_id = writer.write_entity_list(
            SelectorPool, container_code(block_type, block_id), title, pool
        )
        return writer.write_component(block_type, block_id, rules_olx, title, depends_on=[pool_id])


def set_pool_members(
    package_id: int, block_type: str, block_id: str, members: Sequence[int], *, changed_by: int | None = None
) -> bool:
    """
    Make ``members`` (entity ids, in order) the pool of selector ``block_type``/``block_id`` in its next
    draft; return False when it already is. The proxy keeps depending on the pool (the same entity): a
    pool edit shows as an unpublished change of the selector's Unit, and publishing the Unit publishes it.
    """
    return set_entity_list(package_id, SelectorPool, container_code(block_type, block_id), members,
                           changed_by=changed_by)
