"""The `platform/` source folder must not hide Python's standard `platform` module."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def test_the_standard_platform_module_works_inside_the_django_test_process():
    import platform

    assert Path(platform.__file__).parent == Path(sysconfig.get_paths()["stdlib"])
    assert platform.system()


def test_the_standard_platform_module_works_in_manage_py_run_from_the_repository_root(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "import platform; print(platform.system(), platform.__file__)"],
        cwd=REPOSITORY,
        env={**os.environ, "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    system, module_file = result.stdout.split()[-2:]
    assert system == __import__("platform").system()
    assert Path(module_file).parent == Path(sysconfig.get_paths()["stdlib"])


def test_the_settings_package_is_importable_as_config():
    import config.settings

    assert Path(config.settings.__file__).parent == REPOSITORY / "platform" / "config"


def test_the_web_process_and_the_worker_do_not_load_tensorflow(tmp_path):
    # Registration uses OpenCV only; TensorFlow would add seconds and hundreds
    # of megabytes to every web process.
    code = (
        "import sys, django; django.setup();"
        "import config.urls, inspection.tasks, inspection.api.urls;"
        "print('tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPOSITORY,
        env={**os.environ, "VAR_DIR": str(tmp_path), "PYTHONPATH": f"{REPOSITORY}{os.pathsep}{REPOSITORY / 'platform'}",
             "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
