"""
The floor and the baseline a learner's unit render is measured against (``make bench``).

**Floor**: the same blocks, with the same authored, inherited and learner values, built from in-memory
field data by a bare XBlock runtime and rendered — what the blocks themselves cost, with no database,
no cache, no tree and no access decision. What no runtime can go below.

**Baseline**: the access pattern of edx-platform's upstream Learning Core runtime
(``LearningCoreXBlockRuntime.get_block``), block by block with no identity map or cache: the learning
package by key, the component by (type, code) with its publishing relations, its published version,
the ``block.xml`` text of that version, ``etree.fromstring`` and the class's ``parse_xml``, then the
learner's state of that block (one query per block, as edx-platform's user-state client reads
``StudentModule``), and the same render as the floor. The Unit itself is read as a container
(``get_container_by_code`` and ``get_entities_in_container``).

Both borrow from a warm lc-runtime runtime only what a host hands every runtime once (its services,
handler URLs, the attributes core blocks read off a runtime), so the difference measured is storage
and runtime work, not rendering.
"""

from __future__ import annotations

from lxml import etree
from xblock.field_data import DictFieldData
from xblock.fields import Scope, ScopeIds
from xblock.runtime import DictKeyValueStore, KvsFieldData, Mixologist, Runtime

from lc_runtime.blocks.inheritance import InheritableFieldsMixin

# Block classes as any XBlock runtime mixes them (the inheritable settings), without lc-runtime's own mixin.
_PLAIN = Mixologist([InheritableFieldsMixin])

# What the floor needs of each block: its class, its field values, its children's usage keys.
BlockValues = tuple[type, dict, list]


class BareRuntime(Runtime):
    """An XBlock runtime over blocks given in memory; everything else a host supplies comes from ``host``."""

    def __init__(self, host, blocks: dict) -> None:
        # Its own field data: blocks parsed here (the baseline) keep their values in memory, as upstream's do.
        services = {**host._services, "field-data": KvsFieldData(DictKeyValueStore())}
        super().__init__(host.id_manager, host.id_manager, services=services)
        self._host = host
        self._given = blocks  # usage key -> BlockValues, or a built block (the baseline builds its own)
        self._built: dict = {}

    def __getattr__(self, name):  # course_id, anonymous_student_id, resources_fs, ... as the host has them
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._host, name)

    def get_block(self, usage_id, for_parent=None):
        block = self._built.get(usage_id)
        if block is None:
            given = self._given[usage_id]
            if isinstance(given, tuple):
                block_class, values, children = given
                values = dict(values, children=list(children))
                block = self.construct_xblock_from_class(
                    block_class, ScopeIds(self._host.learner_id, block_class.__name__, usage_id, usage_id),
                    field_data=DictFieldData(values), for_parent=for_parent,
                )
            else:
                block = given
            self._built[usage_id] = block
        return block

    def applicable_aside_types(self, block):
        # The host's configured asides, not XBlock's default scan of every installed package's entry points.
        return self._host.applicable_aside_types(block)

    def handler_url(self, block, handler_name, suffix="", query="", thirdparty=False):
        return self._host.handler_url(block, handler_name, suffix, query, thirdparty)

    def resource_url(self, resource):
        return self._host.resource_url(resource)

    def local_resource_url(self, block, uri):
        return self._host.local_resource_url(block, uri)

    def publish(self, block, event_type, event_data):
        """Events are dropped: the floor measures rendering."""

    def service(self, block, service_name):
        return self._services.get(service_name) or self._host.service(block, service_name)


def floor_values(host, unit_key) -> dict:
    """
    Every block of the unit ``unit_key`` as the warm runtime ``host`` sees it: class, values, children.

    Values are those the runtime's field data answers (authored, inherited, the learner's state and
    dates), read once, outside any timing.
    """
    found: dict = {}
    stack = [host.get_block(unit_key)]
    while stack:
        block = stack.pop()
        values = {}
        for name, declared in block.fields.items():
            if declared.scope in (Scope.children, Scope.parent):
                continue
            if block._field_data.has(block, name):
                values[name] = block._field_data.get(block, name)
        children = list(block.children) if block.has_children else []
        block_class = _PLAIN.mix(host.load_block_type(block.scope_ids.block_type))
        found[block.scope_ids.usage_id] = (block_class, values, children)
        stack.extend(host.get_block(child) for child in children)
    return found


def render_floor(host, values: dict, unit_key) -> str:
    """One floor request: a bare runtime, the blocks built from memory, the unit's student_view."""
    runtime = BareRuntime(host, values)
    return runtime.render(runtime.get_block(unit_key), "student_view").content


def render_baseline(host, package_id: int, unit_code: str, user_id: int) -> str:
    """One baseline request: the upstream runtime's per-block reads and parse, then the same render."""
    from openedx_content import api as content_api
    from openedx_content.models_api import ComponentVersionMedia, LearningPackage

    from lc_runtime.models import LearnerState

    package = LearningPackage.objects.get(id=package_id)
    unit = content_api.get_container_by_code(package.id, unit_code)
    entries = content_api.get_entities_in_container(unit, published=True)
    given: dict = {}
    child_keys = []
    for entry in entries:
        entity = entry.entity
        component = content_api.get_component_by_code(
            package.id, "xblock.v1", *_type_and_code(entity)
        )
        version = component.versioning.published
        olx = ComponentVersionMedia.objects.select_related("media").get(
            component_version=version, path="block.xml"
        ).media.text
        block_type = component.component_type.name
        usage_key = host.course_key.make_usage_key(block_type, component.component_code)
        runtime_class = _PLAIN.mix(host.load_block_type(block_type))
        parser = BareRuntime(host, {})
        node = etree.fromstring(olx.encode())
        keys = ScopeIds(host.learner_id, block_type, usage_key, usage_key)
        block = runtime_class.parse_xml(node, parser, keys)
        state = LearnerState.objects.filter(
            user_id=user_id, course_key=str(host.course_key), block_key=str(usage_key), scope="one.usage"
        ).first()
        for name, value in (state.state if state is not None else {}).items():
            if name in block.fields:
                setattr(block, name, block.fields[name].from_json(value))
        given[usage_key] = block
        child_keys.append(usage_key)
    unit_key = host.course_key.make_usage_key("vertical", unit_code.split(".", 1)[1])
    unit_class = _PLAIN.mix(host.load_block_type("vertical"))
    given[unit_key] = (unit_class, {}, child_keys)
    runtime = BareRuntime(host, given)
    for block in given.values():
        if not isinstance(block, tuple):
            block.runtime = runtime
    return runtime.render(runtime.get_block(unit_key), "student_view").content


def _type_and_code(entity) -> tuple[str, str]:
    component = entity.component
    return component.component_type.name, component.component_code
