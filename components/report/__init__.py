"""Report: the run's HTML report, written into the pipeline root by the pipeline itself.

Contract: `Report(dataset=..., pipeline_name=..., <the run's artifacts>)` writes
`REPORT_FILE` into its `report` artifact with `pipeline.reports.html.render_report`, the
renderer `python -m pipeline report` uses locally. It runs after the Pusher, whatever the
blessing, so every cloud run that reaches the Evaluator leaves a report.
"""

from components.report.component import HtmlReport, Report
from components.report.executor import REPORT_FILE

__all__ = ["REPORT_FILE", "HtmlReport", "Report"]
