"""Django discovers an app's models here; ours are defined by concept in the content layer."""

from lc_runtime.content.assets.models import AssetSettings  # noqa: F401
from lc_runtime.content.courses.models import (  # noqa: F401
    BlockChild,
    ContainerSettings,
    CourseRoot,
    CourseRootVersion,
    CourseRun,
)
from lc_runtime.content.dates.models import LearnerSchedule  # noqa: F401
from lc_runtime.content.learners.models import (  # noqa: F401
    LearnerChoicesLock,
    LearnerState,
    LearnerVariant,
    PartitionGroup,
)
from lc_runtime.content.pools.models import SelectorPool, SelectorPoolVersion  # noqa: F401
from lc_runtime.content.roles.models import CourseRole  # noqa: F401
