"""TFX's Pusher, with the copy to the serving directory made atomic and never repeated.

TFX's own executor copies the model straight into `<base>/<version>/`: a process killed
mid-copy leaves a partial version there for good. On a local disk this executor copies
into `<base>/.incoming-<version>/` and renames it into place, so a model server watching
`<base>` sees a version whole or not at all. Object stores (gs://, s3://) have no folder
rename (TensorFlow's renames object after object, saved_model.pb before variables/):
there the version is written in place with its saved_model.pb last, as a server loads a
version only once that file exists. Leftovers of a killed push (an incoming folder, a
version without saved_model.pb) are removed by the next push.

TFX's executor also writes a new version for every blessed model, even one whose files are
those of the version already serving (a re-trained model that came out the same): a
server reloads it, and the version history no longer says when the model changed. Here a
model whose files are byte-for-byte those of the latest version is not copied: the
`PushedModel` is marked pushed to that version (`pushed` = 1: this model is what serves
there) with `already_serving` = 1. Blessing checks, version numbers and the rest of ML
Metadata are TFX's.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from typing import Any

from absl import logging
from tfx import types
from tfx.components.pusher import executor as tfx_pusher
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

INCOMING_PREFIX = ".incoming-"
# Custom property of the PushedModel: 1 when the model was already the latest version.
ALREADY_SERVING_KEY = "already_serving"
_CHUNK = 1 << 20
# What a server looks for before it loads a version.
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def _remove_leftovers(base: str) -> None:
    """Deletes half-copied versions left by a push that was killed."""
    if not fileio.exists(base):
        return
    for name in fileio.listdir(base):
        name = name.rstrip("/")  # object stores list folders with a slash
        folder = os.path.join(base, name)
        unfinished = name.isdigit() and not any(
            fileio.exists(os.path.join(folder, f)) for f in SAVED_MODEL_FILES
        )
        if name.startswith(INCOMING_PREFIX) or unfinished:
            logging.warning("Pusher: removing %s, left by an interrupted push", name)
            fileio.rmtree(folder)


def copy_then_rename(model_path: str, base: str, version: str) -> str:
    """Copies `model_path` to `<base>/<version>`, whole or not at all as a model server
    sees it; returns the final path."""
    final = os.path.join(base, version)
    _remove_leftovers(base)
    fileio.makedirs(base)
    if "://" not in base:  # a local folder: one atomic rename
        incoming = os.path.join(base, f"{INCOMING_PREFIX}{version}")
        io_utils.copy_dir(model_path, incoming)
        os.rename(incoming, final)
        return final
    model_path = model_path.rstrip("/")
    last = [f for f in SAVED_MODEL_FILES if fileio.exists(os.path.join(model_path, f))]
    io_utils.copy_dir(
        model_path, final, deny_regex_patterns=[re.escape(f"{model_path}/{f}") + "$" for f in last]
    )
    for name in last:
        fileio.copy(os.path.join(model_path, name), os.path.join(final, name), overwrite=True)
    return final


def latest_version(base: str) -> str | None:
    """The highest numbered version under `base` (the one TF Serving serves), or None."""
    if not fileio.exists(base):
        return None
    versions = [name.rstrip("/") for name in fileio.listdir(base)]
    numbered = [name for name in versions if name.isdigit()]
    return max(numbered, key=int) if numbered else None


def _file_digests(root: str) -> dict[str, str]:
    """SHA-256 of each file under `root`, keyed by its path relative to `root`."""
    root = root.rstrip("/")
    digests = {}
    for directory, _, files in fileio.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            digest = hashlib.sha256()
            with fileio.open(path, "rb") as f:
                while chunk := f.read(_CHUNK):
                    digest.update(chunk)
            digests[path[len(root) + 1 :]] = digest.hexdigest()
    return digests


def same_files(first: str, second: str) -> bool:
    """Whether two folders hold the same files with the same bytes."""
    return _file_digests(first) == _file_digests(second)


class Executor(tfx_pusher.Executor):
    """Pushes a blessed model to the filesystem destination, whole or not at all, and not
    again when the latest version already holds it."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        model_push = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY]
        )
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(model_push)
            return
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination
        )
        if destination.WhichOneof("destination") != "filesystem":
            raise NotImplementedError("the atomic Pusher pushes to a filesystem destination only")
        model_path = self.GetModelPath(input_dict)
        base = destination.filesystem.base_directory
        serving = latest_version(base)
        if serving is not None and same_files(model_path, os.path.join(base, serving)):
            serving_path = os.path.join(base, serving)
            logging.info("Model is already serving as %s: not pushed again.", serving_path)
            io_utils.copy_dir(model_path, model_push.uri)
            self._MarkPushed(model_push, pushed_destination=serving_path, pushed_version=serving)
            model_push.set_int_custom_property(ALREADY_SERVING_KEY, 1)
            return
        version = str(int(time.time()))
        while fileio.exists(os.path.join(base, version)):  # two pushes in one second
            version = str(int(version) + 1)
        serving_path = copy_then_rename(model_path, base, version)
        logging.info("Model written to serving path %s.", serving_path)
        # The archive copy in the artifact, as TFX's Pusher keeps it.
        io_utils.copy_dir(model_path, model_push.uri)
        self._MarkPushed(model_push, pushed_destination=serving_path, pushed_version=version)
