"""Build step that ships the repository's ``configs/`` folder inside the package as ``binge/configs``.

``configs/`` stays at the repository root (every command and test names ``configs/...``); a
wheel built from the checkout gets a copy under ``binge/configs/``, which
``binge.config.shipped_config_dir`` finds in an installed binge (``binge config list``,
``--config NAME``). Everything else about the build is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class build_py_with_configs(build_py):
    """``build_py`` plus a copy of ``configs/**/*.yaml`` into ``<build_lib>/binge/configs/``."""

    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's configs/ directly
            return
        source = ROOT / "configs"
        target = Path(self.build_lib) / "binge" / "configs"
        if target.exists():  # a reused build/ folder: no config that was removed since
            shutil.rmtree(target)
        for path in sorted(source.rglob("*.yaml")):
            dest = target / path.relative_to(source)
            self.mkpath(str(dest.parent))
            self.copy_file(str(path), str(dest))


setup(cmdclass={"build_py": build_py_with_configs})
