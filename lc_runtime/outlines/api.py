"""
The one door into :mod:`lc_runtime.outlines`: course outlines, outline processors and partition schemes.

Plugin authors subclass :class:`OutlineProcessor` (entry point group ``lc_runtime.outline_processors.v1``)
or :class:`PartitionScheme` (``lc_runtime.partition_schemes.v1``).
"""

from lc_runtime.outlines.build import course_outline, forget_recent_outlines
from lc_runtime.outlines.context import LearnerContext
from lc_runtime.outlines.data import (
    BlockAccessData,
    Closure,
    CourseLearningSequenceData,
    CourseOutlineData,
    CourseSectionData,
    CourseUnitData,
    CourseVisibility,
    ExamData,
    UserCourseOutline,
    UserOutlineSection,
    UserOutlineSequence,
    UserOutlineUnit,
    VisibilityData,
)
from lc_runtime.outlines.pipeline import AccessDecision, decide_access, user_course_outline
from lc_runtime.outlines.processors import (
    BlockDates,
    ContentGroupsOutlineProcessor,
    OutlineProcessor,
    ScheduleOutlineProcessor,
    SelectorsOutlineProcessor,
    VisibilityOutlineProcessor,
    block_dates,
)
from lc_runtime.outlines.registry import (
    PROCESSORS_GROUP,
    BrokenOutlineProcessors,
    outline_processors,
    processor_errors,
)
from lc_runtime.outlines.schemes import (
    ENROLLMENT_TRACK_PARTITION_ID,
    SCHEMES_GROUP,
    PartitionScheme,
    RandomScheme,
    StoredGroupScheme,
    partition_scheme,
    scheme_errors,
)

__all__ = [
    "BrokenOutlineProcessors",
    "ENROLLMENT_TRACK_PARTITION_ID",
    "PROCESSORS_GROUP",
    "SCHEMES_GROUP",
    "AccessDecision",
    "BlockAccessData",
    "Closure",
    "ContentGroupsOutlineProcessor",
    "CourseLearningSequenceData",
    "CourseOutlineData",
    "CourseSectionData",
    "CourseUnitData",
    "CourseVisibility",
    "ExamData",
    "LearnerContext",
    "BlockDates",
    "OutlineProcessor",
    "PartitionScheme",
    "RandomScheme",
    "ScheduleOutlineProcessor",
    "SelectorsOutlineProcessor",
    "StoredGroupScheme",
    "UserCourseOutline",
    "UserOutlineSection",
    "UserOutlineSequence",
    "UserOutlineUnit",
    "VisibilityData",
    "VisibilityOutlineProcessor",
    "course_outline",
    "forget_recent_outlines",
    "decide_access",
    "block_dates",
    "outline_processors",
    "partition_scheme",
    "processor_errors",
    "scheme_errors",
    "user_course_outline",
]
