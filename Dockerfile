# The pipeline's image for Kubeflow Pipelines / Vertex AI steps and Dataflow workers.
# Build and push (no local Docker needed with Cloud Build):
#   gcloud builds submit --tag us-central1-docker.pkg.dev/<project>/tfx/census-pipeline:<version> .
# or, with Docker:
#   docker build -t us-central1-docker.pkg.dev/<project>/tfx/census-pipeline:<version> .
#   docker push us-central1-docker.pkg.dev/<project>/tfx/census-pipeline:<version>
# Then set `image:` in deploy/vertex.yaml to that reference. Use a new tag for every code
# change: Vertex AI's cache key includes the image, so a new tag re-runs the steps.

# The official image of the TFX version in requirements.lock (Python 3.10); it also
# carries Beam's worker boot entrypoint that Dataflow starts.
FROM gcr.io/tfx-oss-public/tfx:1.16.0

WORKDIR /pipeline
ENV TF_USE_LEGACY_KERAS=1 \
    PYTHONDONTWRITEBYTECODE=1

# The run-time lock's versions over the image's own (install, not sync: keep the image's
# extras). requirements-runtime.lock has what the steps import, at requirements.lock's
# versions, and none of the test, lint or notebook tools.
COPY requirements-runtime.lock ./
RUN python -m pip install --no-cache-dir uv==0.13.9 \
    && uv pip install --system --no-cache -r requirements-runtime.lock

# The project: `module_file`, `eval_config` and `modeling` become top-level modules; the
# compiled pipeline refers to module_file.preprocessing_fn / module_file.run_fn, and to the
# custom artifact types as modeling.<Type>.
COPY setup.py module_file.py eval_config.py modeling.py ./
COPY pipeline/ pipeline/
COPY components/ components/
# From / (not this folder), so that the installed copy is what imports: every module a
# step names, and every custom component's executor.
RUN uv pip install --system --no-cache --no-deps . \
    && cd / && python -c "import module_file, eval_config, modeling, pipeline.reports.html, pkgutil, importlib, importlib.util, components; [importlib.import_module(f'components.{m.name}.executor') for m in pkgutil.iter_modules(components.__path__) if importlib.util.find_spec(f'components.{m.name}.executor')]"
