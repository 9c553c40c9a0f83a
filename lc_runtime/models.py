"""Django discovers an app's models here; ours are defined in the content layer."""

from lc_runtime.content.models import (  # noqa: F401
    BlockChild,
    ContainerSettings,
    CourseRoot,
    CourseRootVersion,
    CourseRun,
    LearnerState,
)
