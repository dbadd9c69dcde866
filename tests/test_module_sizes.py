"""No product module over 400 lines: past that, a module does more than one thing.

Issue 20's proof. The product is the five packages and the two entry points; tests and
bench/ are not held to it.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("interpreter", "workflows", "activities", "adapters", "dee")
ENTRY_POINTS = ("worker.py", "starter.py")
LIMIT = 400
# A module past the limit that must stay so for a while would be named here, with why.
EXEMPT: set[str] = set()


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _modules() -> list[Path]:
    found = [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    return found + [ROOT / name for name in ENTRY_POINTS]


def test_no_product_module_is_over_400_lines() -> None:
    modules = _modules()
    assert len(modules) > 100  # the packages were found at all
    over = {
        str(p.relative_to(ROOT)): _lines(p)
        for p in modules
        if str(p.relative_to(ROOT)) not in EXEMPT and _lines(p) > LIMIT
    }
    assert over == {}


def test_an_exemption_lasts_only_while_it_is_needed() -> None:
    # Once an exempt module is under the limit (or gone), its exemption must go too.
    needed = {n for n in EXEMPT if (ROOT / n).exists() and _lines(ROOT / n) > LIMIT}
    assert needed == EXEMPT
