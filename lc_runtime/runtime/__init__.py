"""The runtime layer: ``LearningCoreRuntime`` and what it needs (ids, services, handler URLs, events)."""
