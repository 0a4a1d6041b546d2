"""Scale-out: the render stage on a Dask cluster writes the same bytes as the local process pool.

`process(..., executor=client.get_executor())` sends each photo's render job to the cluster's
workers, which read the sources and write the outputs themselves (a shared file system; here the
workers are processes of this machine). The run must not be able to tell the difference: same
files, same bytes, same markup, same manifest. The cluster listens on loopback only.
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

import pytest

import pipeline

from .conftest import FIXTURES, unavailable

EVENT = [
    "DSCN0010.jpg",
    "kodak-dc240.jpg",
    "canon_hdr_NO.jpg",
    "xiaomi.heic",
    "arrow.heic",
    "IMG_2682.heic",
    "87_OSError.jpg",
]
LOCK = ".gallery.lock"  # holds the pid of the run that took it: the one file that must differ


def _distributed():
    try:
        return importlib.import_module("distributed")
    except ImportError:
        unavailable("requires Dask distributed (in the test extra: pip install -e '.[test]')")


@pytest.fixture(scope="module")
def dask_client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A two-worker cluster of separate processes on this machine, closed when the module is done."""
    distributed = _distributed()
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",  # scheduler and workers listen on loopback only
        # The scheduler's HTTP server starts even with the dashboard off (dashboard_address=None), and
        # then on the fixed port 8787; a free loopback port keeps parallel runs from clashing.
        dashboard_address="127.0.0.1:0",
        local_directory=tmp_path_factory.mktemp("dask-scratch"),
    )
    request.addfinalizer(cluster.close)
    client = distributed.Client(cluster)
    request.addfinalizer(client.close)  # finalizers run last-in first-out: the client goes first
    client.wait_for_workers(2, timeout=30)
    return client


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.name != LOCK}


def test_render_on_dask_matches_local_pool(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    distributed = _distributed()  # skip (fail under CI) before the slow part when it is missing
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in EVENT:
        shutil.copy2(FIXTURES / "event" / name, photos / name)
    config = pipeline.load_config()
    local_dir, dask_dir = tmp_path / "local", tmp_path / "dask"

    local = pipeline.process(photos, config, output__dir=str(local_dir), output__name="trip", run__jobs=2)
    # The cluster starts only now: the default pool forks its workers, and forking while the client's
    # threads run (its event loop, the nanny watchers) is what fork-safety warnings are about.
    dask_client = request.getfixturevalue("dask_client")
    with distributed.get_task_stream(client=dask_client) as stream:
        on_dask = pipeline.process(
            photos,
            config,
            executor=dask_client.get_executor(pure=False),
            output__dir=str(dask_dir),
            output__name="trip",
            run__jobs=2,
        )

    assert local.failures == ()
    assert on_dask.failures == ()
    assert len(local.photos) == len(on_dask.photos) == len(EVENT)

    # The render stage really ran on the cluster: the scheduler recorded a finished task per photo at
    # least, each on one of the cluster's worker processes (none of which is this test's process).
    worker_pids = dask_client.run(os.getpid)  # {worker address: pid}
    tasks = [task for task in stream.data if task.get("status") == "OK"]
    assert len(tasks) >= len(EVENT), f"tasks seen on the cluster: {[t['key'] for t in stream.data]}"
    ran_in = {worker_pids.get(task["worker"]) for task in tasks}
    assert None not in ran_in, f"a task ran outside the cluster's workers: {[t['worker'] for t in tasks]}"
    assert os.getpid() not in ran_in

    # Same outputs, file for file and byte for byte; the results say so too.
    assert [(p.source.name, [(o.path.name, o.bytes) for o in p.outputs]) for p in on_dask.photos] == [
        (p.source.name, [(o.path.name, o.bytes) for o in p.outputs]) for p in local.photos
    ]
    local_files, dask_files = _files(local_dir), _files(dask_dir)
    assert sorted(dask_files) == sorted(local_files)
    visible = [name for name in local_files if not name.startswith(".")]
    assert {o.path.name for p in local.photos for o in p.outputs} | {"trip.json"} == set(visible)
    differing = [name for name in visible if dask_files[name] != local_files[name]]
    assert not differing, f"outputs that differ between the local pool and Dask: {differing}"
    for photo in on_dask.photos:
        for output in photo.outputs:
            assert output.path.parent == dask_dir
            assert output.path.stat().st_size == output.bytes

    # Same markup (same url_prefix, so identical text) and the same manifest.
    assert on_dask.markup == local.markup
    assert on_dask.markup.count("trip-") >= len(EVENT)
    assert (dask_dir / "trip.json").read_bytes() == (local_dir / "trip.json").read_bytes()
