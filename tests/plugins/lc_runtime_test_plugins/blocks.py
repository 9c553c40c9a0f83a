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


@XBlock.wants("weather")
@XBlock.needs(
    "user", "user_state", "rebind_user", "publish", "completion", "partitions", "teams", "teams_configuration",
    "mako", "i18n",
)
class ServicesProbeBlock(XBlock):
    """Reaches each host service the way third-party blocks do, so tests can see what each answers."""

    display_name = String(scope=Scope.settings, default="Services probe")
    clicks = Integer(scope=Scope.user_state, default=0)

    def student_view(self, context=None):
        weather = self.runtime.service(self, "weather")
        html = self.runtime.service(self, "mako").render_template(
            "services_probe.html",
            {"clicks": self.clicks, "forecast": weather.forecast() if weather else "",
             "_": self.runtime.service(self, "i18n").gettext},
        )
        return Fragment(html)

    @XBlock.json_handler
    def click(self, data, suffix=""):
        self.clicks += 1
        self.runtime.service(self, "publish").publish(self, "completion", {"completion": 1.0})
        return {"clicks": self.clicks}

    @XBlock.json_handler
    def read_state_of(self, data, suffix=""):
        """Another learner's state of a block (the staff side of ORA2 and edx-sga)."""
        return self.runtime.service(self, "user_state").get_state_as_dict(data["username"], self.scope_ids.usage_id)

    @XBlock.json_handler
    def click_for(self, data, suffix=""):
        """Act for another learner, as a grader's callback does after ``rebind_user``."""
        from django.contrib.auth import get_user_model

        real_user = get_user_model().objects.get(username=data["username"])
        self.runtime.service(self, "rebind_user").rebind_noauth_module_to_user(self, real_user)
        self.clicks += 1
        return {"clicks": self.clicks, "user_id": self.scope_ids.user_id}

    @XBlock.json_handler
    def describe(self, data, suffix=""):
        user_service = self.runtime.service(self, "user")
        anonymous_id = user_service.get_current_user().opt_attrs["edx-platform.anonymous_user_id"]
        teams_configuration = self.runtime.service(self, "teams_configuration").get_teams_configuration(None)
        completion = self.runtime.service(self, "completion")
        return {
            "anonymous_id": anonymous_id,
            "found": getattr(user_service.get_user_by_anonymous_id(anonymous_id), "username", None),
            "team": self.runtime.service(self, "teams").get_team(None, None, None),
            "teamsets": list(teams_configuration.teamsets),
            "tracking": completion.completion_tracking_enabled(),
            "completion": completion.get_completions([self.scope_ids.usage_id]).get(self.scope_ids.usage_id),
            "partitions": self.runtime.service(self, "partitions").course_partitions,
        }
