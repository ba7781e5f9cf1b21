"""The atomic Pusher through its real `Executor().Do`, on a real SavedModel, including a
push killed with SIGKILL halfway through the copy and a model that is already serving."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tensorflow as tf
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from components.atomic_pusher import ALREADY_SERVING_KEY, INCOMING_PREFIX, Executor
from pipeline.project import ROOT
from pipeline.reports.artifacts import ALREADY_SERVING_PROPERTY


@pytest.fixture(scope="module")
def model_uri(tmp_path_factory) -> Path:
    """A Trainer-like model artifact folder: <uri>/Format-Serving/ holds a SavedModel."""
    uri = tmp_path_factory.mktemp("model")
    module = tf.Module()
    module.weights = tf.Variable(tf.ones([64, 64]))
    module.score = tf.function(
        lambda x: tf.reduce_sum(x * module.weights), input_signature=[tf.TensorSpec([64, 64])]
    )
    tf.saved_model.save(module, str(uri / "Format-Serving"))
    return uri


def _push(model_uri: Path, base: Path, pushed_uri: Path, blessed: bool = True):
    model = standard_artifacts.Model()
    model.uri = str(model_uri)
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = str(pushed_uri.parent / "blessing")
    blessing.set_int_custom_property("blessed", int(blessed))
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(pushed_uri)
    destination = pusher_pb2.PushDestination(
        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=str(base))
    )
    Executor().Do(
        {"model": [model], "model_blessing": [blessing]},
        {"pushed_model": [pushed]},
        {"push_destination": proto_utils.proto_to_json(destination)},
    )
    return pushed


def test_a_blessed_model_lands_whole_under_a_version(tmp_path, model_uri):
    pushed = _push(model_uri, tmp_path / "serving", tmp_path / "pushed")
    versions = os.listdir(tmp_path / "serving")
    assert len(versions) == 1 and versions[0].isdigit()
    final = tmp_path / "serving" / versions[0]
    assert pushed.get_int_custom_property("pushed") == 1
    assert pushed.get_string_custom_property("pushed_destination") == str(final)
    loaded = tf.saved_model.load(str(final))
    assert float(loaded.score(tf.ones([64, 64]))) == 64 * 64


def test_a_model_already_serving_is_not_pushed_again(tmp_path, model_uri):
    serving = tmp_path / "serving"
    first = _push(model_uri, serving, tmp_path / "p1")
    (version,) = os.listdir(serving)
    modified = (serving / version / "saved_model.pb").stat().st_mtime_ns
    # The same files again (a re-trained model that came out the same): no new version.
    copy = tmp_path / "copy"
    shutil.copytree(model_uri, copy)
    time.sleep(1.1)  # a push now would get a new version number
    again = _push(copy, serving, tmp_path / "p2")
    assert os.listdir(serving) == [version]
    assert (serving / version / "saved_model.pb").stat().st_mtime_ns == modified
    assert again.get_int_custom_property("pushed") == 1
    assert again.get_string_custom_property("pushed_destination") == str(serving / version)
    assert again.get_string_custom_property("pushed_version") == version
    assert again.get_int_custom_property(ALREADY_SERVING_KEY) == 1
    assert first.get_int_custom_property(ALREADY_SERVING_KEY) == 0  # absent: 0
    assert ALREADY_SERVING_KEY == ALREADY_SERVING_PROPERTY  # what the reports read
    # One byte changed: a new version, which is now the one compared against.
    with (copy / "Format-Serving" / "saved_model.pb").open("ab") as f:
        f.write(b"\0")
    changed = _push(copy, serving, tmp_path / "p3")
    assert sorted(os.listdir(serving)) == sorted(
        [version, changed.get_string_custom_property("pushed_version")]
    )
    assert changed.get_int_custom_property(ALREADY_SERVING_KEY) == 0
    assert _push(copy, serving, tmp_path / "p4").get_int_custom_property(ALREADY_SERVING_KEY) == 1


def test_an_unblessed_model_is_not_pushed(tmp_path, model_uri):
    pushed = _push(model_uri, tmp_path / "serving", tmp_path / "pushed", blessed=False)
    assert pushed.get_int_custom_property("pushed") == 0
    assert not (tmp_path / "serving").exists()


KILLED_PUSH = """
import sys, time
from tfx.dsl.io import fileio
from tfx.utils import io_utils
copy = fileio.copy
def slow_copy(src, dst, overwrite=False):
    copy(src, dst, overwrite)
    if "variables" in src:           # half the model is there: wait to be killed
        print("copying", flush=True)
        time.sleep(120)
io_utils.fileio.copy = slow_copy
from tests.model.test_atomic_pusher import _push
from pathlib import Path
_push(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
"""


def test_a_push_killed_mid_copy_leaves_no_partial_version(tmp_path, model_uri):
    serving = tmp_path / "serving"
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_PUSH, str(model_uri), str(serving), str(tmp_path / "p1")],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert process.stdout.readline().strip() == "copying"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    # Killed halfway: only the hidden incoming folder, no version a server would load.
    left = os.listdir(serving)
    assert len(left) == 1 and left[0].startswith(INCOMING_PREFIX)
    assert not any(name.isdigit() for name in left)

    time.sleep(1.1)  # a new version number
    pushed = _push(model_uri, serving, tmp_path / "p2")
    versions = os.listdir(serving)
    assert len(versions) == 1 and versions[0].isdigit()  # exactly one, leftovers removed
    assert (
        json.dumps(pushed.get_string_custom_property("pushed_destination")).count(versions[0]) == 1
    )
    assert (serving / versions[0] / "saved_model.pb").exists()
