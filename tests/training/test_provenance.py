import json
import shutil
import subprocess

import jax
import pytest

from largerl_jax.training.run_files import provenance
def test_collect_records_versions_devices_precision_and_source():
    info = provenance.collect("highest")
    assert set(info["packages"]) == set(provenance.PACKAGES)
    assert info["packages"]["jax"] == jax.__version__
    assert info["device_kind"] == jax.devices()[0].device_kind
    assert info["device_count"] == len(jax.devices()) and info["platform"] == jax.devices()[0].platform
    assert info["matmul_precision"] == "highest"
    assert info["git_dirty"] in (None, True, False)
    assert (info["git_commit"] is None) == (info["git_dirty"] is None)
    json.dumps(info)  # the record must be plain JSON


def test_source_state_outside_a_checkout(tmp_path):
    (tmp_path / "__init__.py").write_text("")
    assert provenance.source_state(str(tmp_path)) == (None, None)


@pytest.mark.skipif(shutil.which("git") is None, reason="no git")
def test_source_state_commit_and_dirty_flag(tmp_path):
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git + ["init", "-q"], check=True)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    # a package dir that git does not track (an installed copy inside some repo) has no source state
    assert provenance.source_state(str(pkg)) == (None, None)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    head = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert provenance.source_state(str(pkg)) == (head, False)
    (pkg / "__init__.py").write_text("x = 1\n")
    assert provenance.source_state(str(pkg)) == (head, True)


def _record(jax_version="0.10.2", device_kind="cpu"):
    return {"packages": {"jax": jax_version, "brax": None}, "device_kind": device_kind,
            "matmul_precision": "default", "git_commit": "abc"}


def test_resume_under_other_versions_warns_once_and_keeps_both(tmp_path):
    first = _record()
    provenance.write(str(tmp_path), first)
    warnings = []
    resumed = _record(jax_version="0.11.0", device_kind="NVIDIA H100")
    diff = provenance.check_resume(str(tmp_path), resumed, warn=warnings.append)
    assert diff == {"jax": ["0.10.2", "0.11.0"], "device_kind": ["cpu", "NVIDIA H100"]}
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert "jax 0.10.2 -> 0.11.0" in warnings[0] and "NVIDIA H100" in warnings[0]
    assert provenance.read(str(tmp_path)) == [first, resumed]
    # a further resume on the same setup is recorded without a warning
    assert provenance.check_resume(str(tmp_path), dict(resumed), warn=warnings.append) == {}
    assert len(warnings) == 1 and len(provenance.read(str(tmp_path))) == 3
    assert not list(tmp_path.glob("*.tmp*"))


def test_resume_of_a_run_without_provenance_records_it(tmp_path):
    warnings = []
    assert provenance.check_resume(str(tmp_path), _record(), warn=warnings.append) == {}
    assert warnings == [] and provenance.read(str(tmp_path)) == [_record()]
