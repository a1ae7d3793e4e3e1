#!/usr/bin/env bash
# Install the Label Studio server into its own virtual environment.
#
# The server pins openai<2 and pyarrow<25, so it cannot share the project's
# venv (which uses the openai 3.x client); the annotation code talks to it only
# over HTTP through label-studio-sdk. The tests find the executable through
# INSTRACK_LABEL_STUDIO_BIN, default <repo>/.ls-venv/bin/label-studio.
#
# Usage: scripts/ci_label_studio.sh [VENV_DIR]     (default: <repo>/.ls-venv)
# Env:   PYTHON (interpreter for the venv, default python3)
#        LABEL_STUDIO_VERSION (default 1.23.2, the version the recipe was measured on)
# Prints the time taken. Re-running with the server already installed is a no-op.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$repo/.ls-venv}"
python="${PYTHON:-python3}"
version="${LABEL_STUDIO_VERSION:-1.23.2}"
start=$(date +%s)

if [[ -x "$venv/bin/label-studio" ]] && "$venv/bin/python" -c "import label_studio" 2>/dev/null; then
    echo "label-studio already installed in $venv"
else
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "label-studio==$version"
fi

# Clips shown to annotators must be H.264 (OpenCV's mp4v does not play in browsers);
# the task renderer calls Debian's ffmpeg for that.
if ! command -v ffmpeg >/dev/null 2>&1; then
    echo "warning: ffmpeg not found; install it (apt-get install -y ffmpeg) to render task clips" >&2
fi

echo "label-studio $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("label-studio"))') in $venv: $(( $(date +%s) - start )) s"
