"""A full disk during make-tfrecords, train or export: one line naming the disk and the file,
exit 2, no partial output, the last good checkpoint intact. The disk is filled by injecting
the errors Python (OSError ENOSPC) and TensorFlow (ResourceExhaustedError) raise."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import tensorflow as tf

from data_tools.io.full_disk import device_of
from inference_helpers import finished_fcn_run
from msgan.cli import main

NO_SPACE = os.strerror(errno.ENOSPC)


def _cli(*args) -> int:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    return exc.value.code


def _one_line(capsys, code, *named) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    (line,) = [x for x in err if x.startswith("error:")]
    assert "Traceback" not in "\n".join(err)
    for text in named:
        assert str(text) in line, (text, line)
    return line


def _tf_full(path) -> tf.errors.ResourceExhaustedError:
    return tf.errors.ResourceExhaustedError(None, None, f"{path}; {NO_SPACE}")


def _os_full(path) -> OSError:
    return OSError(errno.ENOSPC, NO_SPACE, str(path))


@pytest.mark.parametrize("raised", ["tensorflow", "python"])
def test_make_tfrecords_on_a_full_disk(tiny_cohort, tmp_path, monkeypatch, capsys, raised):
    from data_tools.shards import tfrecords

    class FullAfterOneRecord(tf.io.TFRecordWriter):
        records = 0  # over all shards

        def __init__(self, path, options=None):
            super().__init__(path, options)
            self.path = path

        def write(self, record):
            if FullAfterOneRecord.records:
                raise _tf_full(self.path)
            super().write(record)
            FullAfterOneRecord.records += 1

    def full_index(folder, index):
        (Path(folder) / "index.json").write_text("{")
        raise _os_full(Path(folder) / "index.json")

    if raised == "tensorflow":
        monkeypatch.setattr(tfrecords.tf.io, "TFRecordWriter", FullAfterOneRecord)
    else:
        monkeypatch.setattr(tfrecords, "write_index", full_index)
    out = tmp_path / "shards"
    code = _cli("make-tfrecords", "--cohort", tiny_cohort, "--task", "flair", "--inputs", "T1,T2",
                "--out", out, "--layout", "whole", "--shard-size", "2")
    line = _one_line(capsys, code, device_of(tmp_path).split()[0], out)
    assert ".partial-" not in line  # the file is named where it was going, not in the deleted partial folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort"]


def test_train_on_a_full_disk_keeps_the_last_checkpoint(tiny_shards, tmp_path, monkeypatch, capsys):
    """The third checkpoint fails while being merged from its ckpt-N_temp/ folder."""
    from tensorflow.python.checkpoint import functional_saver

    merge, calls = functional_saver.gen_io_ops.merge_v2_checkpoints, []

    def merge_on_a_full_disk(checkpoint_prefixes, destination_prefix, *args, **kwargs):
        calls.append(destination_prefix)
        if len(calls) < 3:
            return merge(checkpoint_prefixes, destination_prefix, *args, **kwargs)
        target = Path(destination_prefix.numpy().decode())
        target.with_name(target.name + ".index").write_bytes(b"\0" * 7)  # half written
        raise _tf_full(target.with_name(target.name + ".index"))

    monkeypatch.setattr(functional_saver.gen_io_ops, "merge_v2_checkpoints", merge_on_a_full_disk)
    run = tmp_path / "run"
    code = _cli("train", "--model", "fcn", "--data", tiny_shards, "--run", run, "--epochs", "3",
                "--checkpoint-every", "1", "--no-early-stopping", "--no-progress",
                "--model-kwargs", '{"filters": 2, "n_layers": 1}')
    _one_line(capsys, code, run)
    assert len(calls) == 3
    folder = run / "checkpoints" / "train"
    latest = tf.train.latest_checkpoint(str(folder))
    assert latest is not None
    kept = {Path(p).name for p in tf.train.get_checkpoint_state(str(folder)).all_model_checkpoint_paths}
    assert {p.name.split(".")[0] for p in folder.glob("ckpt-*")} == kept  # no ckpt-N_temp/, no half ckpt-N
    assert tf.train.load_checkpoint(latest).get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") >= 0
    assert not (run / "model.weights.h5").exists()


@pytest.fixture
def finished_run(tmp_path) -> Path:
    return finished_fcn_run(tmp_path / "run")


def test_export_on_a_full_disk(finished_run, tmp_path, monkeypatch, capsys):
    """The disk fills up after the SavedModel, while its model card is written."""
    from data_tools.contracts import ModelCard

    def to_json_on_a_full_disk(self, path):
        Path(path).write_text("{")
        raise _os_full(path)

    monkeypatch.setattr(ModelCard, "to_json", to_json_on_a_full_disk)
    out = tmp_path / "saved_models" / "fcn" / "1"
    code = _cli("export", "--run", finished_run, "--out", out)
    _one_line(capsys, code, out / "assets")
    assert list((tmp_path / "saved_models" / "fcn").iterdir()) == []
