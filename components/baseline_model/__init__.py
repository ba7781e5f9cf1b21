"""The Evaluator's baseline: the latest blessed model other than the one being evaluated.

Contract: `Resolver(strategy_class=PreviousBlessedModelStrategy, model=Channel(type=Model),
model_blessing=Channel(type=ModelBlessing), candidate=trainer.outputs["model"])`; its
`model` output is the baseline (empty when no other model was ever blessed).
"""

from components.baseline_model.resolver import PreviousBlessedModelStrategy

__all__ = ["PreviousBlessedModelStrategy"]
