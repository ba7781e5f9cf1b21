"""Ablation: short retrainings without each feature group, and what each removal costs."""

from components.ablation.component import Ablation, AblationReport

__all__ = ["Ablation", "AblationReport"]
