"""The contracts between msgan's stages, defined once (docs/ARCHITECTURE.md, "Contracts").

The bottom of the import graph: it imports only :mod:`data_tools.errors`.
"""
from data_tools.contracts.choices import LOSS_NAMES, look_up_option
from data_tools.contracts.documents import (COMPRESSIONS, SHARD_SCHEMA_VERSION, JsonDocument, ModelCard,
                                            RunConfig, ShardIndex)
from data_tools.contracts.tasks import BASELINE, FOLLOW_UP, TASK_NAMES, TASKS, Task, get_task, target_units

__all__ = ["BASELINE", "COMPRESSIONS", "FOLLOW_UP", "JsonDocument", "LOSS_NAMES", "ModelCard", "RunConfig",
           "SHARD_SCHEMA_VERSION", "ShardIndex", "TASKS", "TASK_NAMES", "Task", "get_task", "look_up_option",
           "target_units"]
