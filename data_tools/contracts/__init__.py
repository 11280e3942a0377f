"""The contracts between msgan's stages, defined once (docs/ARCHITECTURE.md, "Contracts").

The bottom of the import graph: it imports only :mod:`data_tools.errors`.
"""
from data_tools.contracts.choices import (ABLATION_LAYOUTS, BLEND_NAMES, BRAIN_EXTRACTORS, LOSS_NAMES, OUTPUT_SPACES,
                                          PRECISIONS, SPACE_NAMES, THRESHOLD_SOURCES, THRESHOLD_SPACES, look_up_option)
from data_tools.contracts.documents import (COMPRESSIONS, SHARD_SCHEMA_VERSION, FoldPlan, JsonDocument,
                                            ModelCard, RunConfig, ShardIndex)
from data_tools.contracts.shards import DEFAULT_CROP, DEFAULT_OVERLAP, DEFAULT_PATCH, LAYOUTS, ShardSpec
from data_tools.contracts.training import Stage, TrainOptions
from data_tools.contracts.tasks import (BASELINE, FOLLOW_UP, SINGLE_SESSION_TASK_NAMES, TASK_NAMES, TASKS, Task,
                                        get_task, target_units)

__all__ = ["ABLATION_LAYOUTS", "BASELINE", "BLEND_NAMES", "BRAIN_EXTRACTORS", "COMPRESSIONS", "DEFAULT_CROP",
           "DEFAULT_OVERLAP", "DEFAULT_PATCH", "FOLLOW_UP", "FoldPlan", "LAYOUTS", "ShardSpec",
           "JsonDocument", "LOSS_NAMES", "ModelCard", "OUTPUT_SPACES", "PRECISIONS", "RunConfig", "SHARD_SCHEMA_VERSION",
           "SINGLE_SESSION_TASK_NAMES", "SPACE_NAMES", "ShardIndex", "Stage", "TASKS", "TrainOptions",
           "TASK_NAMES", "THRESHOLD_SOURCES", "THRESHOLD_SPACES", "Task", "get_task", "look_up_option",
           "target_units"]
