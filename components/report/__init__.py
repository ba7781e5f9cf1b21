"""Report: the run's HTML report, written into the pipeline root by the pipeline itself.

Contract: `Report(dataset=..., pipeline_name=..., [tracking_uri=...,] <the run's
artifacts>)` writes `REPORT_FILE` into its `report` artifact with
`pipeline.reports.html.render_report`, the renderer `python -m pipeline report` uses
locally, and, for an evaluated run, `CARD_FILE` (the model card, also written into a
pushed model's version folder). With a `tracking_uri` it logs the run to MLflow
(`pipeline.tracking.log_run`); a tracking error is a warning. It runs after the Pusher,
whatever the blessing, so every cloud run that reaches the Evaluator leaves a report.
"""

from components.report.component import HtmlReport, Report
from components.report.executor import CARD_FILE, REPORT_FILE

__all__ = ["CARD_FILE", "REPORT_FILE", "HtmlReport", "Report"]
