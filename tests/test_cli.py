"""The command line as users meet it."""

import subprocess
import sys

HEAVY = ("torch", "transformers", "datasets", "sqlalchemy", "fastapi", "openai")


def run(*args):
    return subprocess.run([sys.executable, "-m", "instrack.cli.main", *args], capture_output=True, text=True)


def test_help_lists_the_verbs():
    result = run("--help")
    assert result.returncode == 0
    for verb in ("evaluate", "validate"):
        assert verb in result.stdout


def test_no_verb_prints_help_and_exits_2():
    result = run()
    assert result.returncode == 2 and "usage" in result.stdout


def test_evaluating_imports_nothing_heavy():
    # scoring a submission must work on the core install: no torch, no servers
    code = (
        "import sys; from instrack.cli.main import main; rc = main(['evaluate', '--quiet']); "
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]; "
        "print(heavy); sys.exit(rc or (3 if heavy else 0))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_half_given_paths_are_refused():
    result = run("evaluate", "--gt", "somewhere")
    assert result.returncode == 2 and "--pred is missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_protocol():
    result = run("evaluate", "--protocol", "nope")
    assert result.returncode == 2 and "unknown protocol 'nope'" in result.stderr and "mevis" in result.stderr
    result = run("evaluate", "--protocol", "davis_semi")
    assert result.returncode == 2 and "did you mean 'davis-semi'" in result.stderr
