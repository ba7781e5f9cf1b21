"""Ablation: short retrainings without each feature group, and what each removal costs.

Contract: `Ablation(examples, transform_graph, dataset, ablation=ablation_config(...))`
writes `RESULT_FILE` (JSON, see `executor.run_ablation`) into its `report` artifact.
"""

from components.ablation.component import Ablation, AblationReport
from components.ablation.executor import RESULT_FILE, ablation_config

__all__ = ["RESULT_FILE", "Ablation", "AblationReport", "ablation_config"]
