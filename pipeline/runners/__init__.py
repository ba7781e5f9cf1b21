"""Running `create_pipeline`: on this machine (`local`), compiled for Kubeflow V2 and
Vertex AI (`kubeflow_v2`, `vertex`), and what guards a local run (input checks, the run
lock, the fingerprint that skips a run with nothing to do)."""
