"""Ablation: short retrainings without each feature group, and what each removal costs.

Contract: `Ablation(examples, transform_graph, dataset, ablation=ablation_config(...))`
writes `RESULT_FILE` (JSON, see `executor.run_ablation`) into its `report` artifact;
`VertexAblation` does the same as a Vertex AI custom training job.
"""

from components.ablation.component import Ablation, AblationReport, VertexAblation
from components.ablation.executor import RESULT_FILE, ablation_config

__all__ = ["RESULT_FILE", "Ablation", "AblationReport", "VertexAblation", "ablation_config"]
