"""The type checker runs clean over pipeline/, with the settings in pyproject.toml's [tool.mypy].

The same check runs in the pre-commit hook; here it runs as part of the suite, so CI holds it too.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from .conftest import REPO, unavailable


def test_mypy_finds_no_type_errors_in_pipeline() -> None:
    if importlib.util.find_spec("mypy") is None:
        unavailable("requires mypy (pip install -e '.[test]')")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"mypy found type errors:\n{result.stdout}{result.stderr}"
    # The files setting is what points mypy at pipeline/: a run that checked less would also pass.
    modules = len(list((REPO / "pipeline").rglob("*.py")))
    assert f"no issues found in {modules} source files" in result.stdout, result.stdout
