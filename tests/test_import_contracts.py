"""The apps' import direction (the import-linter contracts in pyproject.toml) holds, and each
contract catches the import it exists to refuse.

The second test copies the apps' code into a temporary folder, adds one forbidden import, and runs
the same contracts there: a contract that could not fail would let that copy pass.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("cpor", "claims", "reviews", "consent", "api", "accounts", "earnings")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CORE = "claims imports none of the apps built on it"
INDEPENDENT = "reviews, consent, api, accounts and earnings never import one another"
NO_APP_IN_CPOR = "cpor, the project package, imports no app"


def lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
    )


def test_the_apps_keep_their_import_direction() -> None:
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "broken"),
    [
        ("claims/selectors.py", "from consent import models", CORE),
        ("claims/history.py", "import reviews.sla", CORE),
        ("reviews/sla.py", "from consent.models import ConsentRequest", INDEPENDENT),
        ("api/problems.py", "import accounts.auth", INDEPENDENT),
        ("consent/logs.py", "import api.problems", INDEPENDENT),
        ("earnings/assessment.py", "from consent.models import ConsentRequest", INDEPENDENT),
        ("consent/services.py", "import earnings.models", INDEPENDENT),
        ("claims/insight.py", "from earnings.models import EarningsLine", CORE),
        ("cpor/outbox.py", "from claims.models import Claim", NO_APP_IN_CPOR),
    ],
)
def test_each_contract_refuses_the_import_it_exists_for(
    tmp_path: Path, module: str, bad_import: str, broken: str
) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for app in APPS:
        shutil.copytree(ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("*.pyc", "__pycache__"))
    with open(tmp_path / module, "a") as source:
        source.write(f"\n\ndef _crossing():\n    {bad_import}  # noqa\n")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{broken} BROKEN" in result.stdout
