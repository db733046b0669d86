"""binge.lazy.lazy_attributes: a package's public names load their submodule on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import sys
import binge.{package} as pkg
assert "binge.{package}.{module}" not in sys.modules, "imported before use"
value = pkg.{name}
assert "binge.{package}.{module}" in sys.modules
from binge.{package}.{module} import {name} as direct
assert value is direct and pkg.__dict__["{name}"] is direct  # cached in the package
try:
    pkg.no_such_name
except AttributeError as exc:
    assert "binge.{package}" in str(exc) and "no_such_name" in str(exc)
else:
    raise AssertionError("no AttributeError")
"""


@pytest.mark.parametrize("package, name, module", [
    ("diagnostics", "kl_divergence", "kl"),
    ("library", "read_library", "store"),
    ("train", "load_encoder", "export"),
    ("data", "read_manifest", "corpus"),
])
def test_a_name_imports_its_submodule_on_first_use_only(package, name, module):
    code = CHECK.format(package=package, name=name, module=module)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
