"""TFMA custom metrics (run inside the Evaluator's Beam workers) and the one catalogue of
metric names, directions and titles that the spec, the eval config and the reports share."""
