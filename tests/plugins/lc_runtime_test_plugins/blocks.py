"""Small XBlocks that exercise one runtime behaviour each."""

from web_fragments.fragment import Fragment
from xblock.core import XBlock
from xblock.fields import Integer, Scope, String


class CounterBlock(XBlock):
    """Counts clicks per learner and in total; its title is authored."""

    display_name = String(scope=Scope.settings, default="Counter")
    clicks = Integer(scope=Scope.user_state, default=0)
    total_clicks = Integer(scope=Scope.user_state_summary, default=0)

    def student_view(self, context=None):
        return Fragment(f"<p>{self.display_name}: {self.clicks} of {self.total_clicks}</p>")

    @XBlock.json_handler
    def click(self, data, suffix=""):
        self.clicks += 1
        self.total_clicks += 1
        self.runtime.publish(self, "lc_test.clicked", {"clicks": self.clicks})
        return {"clicks": self.clicks, "total": self.total_clicks}


class FaultyHandlerBlock(XBlock):
    """A handler that writes state, publishes an event, and then fails."""

    writes = Integer(scope=Scope.user_state, default=0)

    def student_view(self, context=None):
        return Fragment(f"<p>writes: {self.writes}</p>")

    @XBlock.json_handler
    def write_then_fail(self, data, suffix=""):
        self.writes += 1
        self.save()
        self.runtime.publish(self, "lc_test.written", {"writes": self.writes})
        raise RuntimeError("the handler failed after writing")


class CustomChildrenBlock(XBlock):
    """An old-style parent that decides its own children: the runtime must overrule it."""

    has_children = True

    def get_children(self, usage_id_filter=None):
        return []

    def student_view(self, context=None):
        fragment = Fragment()
        for child in self.get_children():
            fragment.add_content(self.runtime.render_child(child, "student_view").content)
        return fragment


class FragileBlock(XBlock):
    """
    Breaks on request: ``<lc_test_fragile explode="yes"/>`` refuses to parse; ``fail_view="yes"``
    writes learner state and then fails in its student view.
    """

    fail_view = String(scope=Scope.settings, default="no")
    visits = Integer(scope=Scope.user_state, default=0)

    @classmethod
    def parse_xml(cls, node, runtime, keys):
        if node.get("explode") == "yes":
            raise ValueError("this block refuses to parse")
        return super().parse_xml(node, runtime, keys)

    def student_view(self, context=None):
        self.visits += 1
        self.save()
        self.runtime.publish(self, "lc_test.fragile_viewed", {"visits": self.visits})
        if self.fail_view == "yes":
            raise RuntimeError("the view failed after writing")
        return Fragment(f"<p>fragile, visit {self.visits}</p>")
