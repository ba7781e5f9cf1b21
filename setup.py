"""Installs the pipeline packages and the top-level module file, eval_config and modeling.

Dependencies are pinned in requirements.lock (compiled from requirements.in) and
installed from it first; `install_requires` only names what the code imports directly.
"""

from setuptools import find_packages, setup

setup(
    name="tfx-census-pipeline",
    version="0.1.0",
    description="A validated, monitored TFX modeling pipeline, driven by a data set spec.",
    python_requires=">=3.10,<3.11",
    packages=find_packages(include=["pipeline", "pipeline.*", "components", "components.*"]),
    py_modules=["module_file", "eval_config", "modeling"],
    # The HTML report's jinja2 templates and style sheet, read with jinja2.PackageLoader;
    # Model Card Toolkit's schema, which every model card is checked against.
    package_data={
        "pipeline.reports": [
            "templates/*.j2",
            "templates/*.css",
            "templates/*/*.j2",
            "model_card_schema/*",
        ]
    },
    install_requires=[
        "tfx[kfp]==1.16.0",
        "tensorflow-model-analysis==0.47.1",
        "tensorflow-transform==1.16.0",
        "tf-keras",
        "pyyaml",
        "jinja2",
        "fastjsonschema",
    ],
    entry_points={"console_scripts": ["tfx-pipeline=pipeline.cli:main"]},
)
