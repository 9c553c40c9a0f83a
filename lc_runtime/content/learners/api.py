"""
Learner data: learner-scoped state and its stores, learners' Variants and partition groups.

The one door into :mod:`lc_runtime.content.learners`.
"""

from lc_runtime.content.learners.state import (
    ALL_LEARNERS,
    DELETED,
    CacheLearnerStateStore,
    DjangoLearnerStateStore,
    LearnerStateStore,
    LockingLearnerStateStore,
    StateKey,
    get_learner_state_store,
    get_preview_state_store,
    merged_state,
)
from lc_runtime.content.learners.variants import (
    NewPartitionGroup,
    NewVariant,
    StoredVariant,
    create_partition_groups,
    create_variants,
    learner_partition_groups,
    learner_variants,
    learners_by_partition,
    learners_by_partition_group,
    new_writer_token,
    reassign_partition_group,
    remove_partition_group,
    replace_variant,
    reread_variant,
    set_partition_group,
    variants_of_selector,
)

__all__ = [
    "ALL_LEARNERS",
    "DELETED",
    "CacheLearnerStateStore",
    "DjangoLearnerStateStore",
    "LearnerStateStore",
    "LockingLearnerStateStore",
    "NewPartitionGroup",
    "NewVariant",
    "StateKey",
    "StoredVariant",
    "create_partition_groups",
    "create_variants",
    "get_learner_state_store",
    "get_preview_state_store",
    "learner_partition_groups",
    "learner_variants",
    "learners_by_partition",
    "learners_by_partition_group",
    "merged_state",
    "new_writer_token",
    "reassign_partition_group",
    "remove_partition_group",
    "replace_variant",
    "reread_variant",
    "set_partition_group",
    "variants_of_selector",
]
