"""The project's custom artifact types, importable under their Kubeflow V2 type names.

Kubeflow V2 compiles a custom artifact type to the schema title `TYPE_NAME`, which must be
`<namespace>.<Title>` (one dot), and the container entry point imports the artifact class
from that path (`_retrieve_class_path`,
tfx/orchestration/kubeflow/v2/container/kubeflow_v2_entrypoint_utils.py:252). This top-level
module is that namespace: `modeling.AblationReport`, `modeling.HtmlReport`.
"""

from components.ablation.component import AblationReport
from components.report.component import HtmlReport

__all__ = ["AblationReport", "HtmlReport"]
