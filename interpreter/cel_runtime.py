"""The ``cel`` package's compiled evaluator, loaded without the package's shell.

``import cel`` runs the package's ``__init__``, which imports its interactive shell
(``cel.cli``: prompt_toolkit, pygments, rich): 80 ms of every ``dee`` command's and
worker's start-up (``python -X importtime``), for a shell DEE never opens. The
evaluator is the extension module ``cel.cel`` (under 1 ms); it is loaded here on its
own, under the name the package gives it, so an ``import cel`` elsewhere later finds
it loaded and shares it. A package laid out otherwise gets the plain import.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from types import ModuleType

_NAME = "cel.cel"


def load() -> ModuleType:
    """The module with ``compile``, ``Context`` and ``evaluate``."""
    loaded = sys.modules.get(_NAME)
    if loaded is not None:
        return loaded
    package = importlib.util.find_spec("cel")  # finds the package without running it
    locations = package.submodule_search_locations if package is not None else None
    spec = importlib.machinery.PathFinder.find_spec(_NAME, list(locations or ()))
    if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
        return importlib.import_module(_NAME)
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    spec.loader.exec_module(module)
    return module
