"""Package discovery lives here because part of it is a mapping.

`annotation`, `leaderboard` and `baselines` are generic top-level import names
(`baselines` is also OpenAI Baselines'), so their folders install under the
project's prefix: `instrack_annotation`, `instrack_leaderboard`,
`instrack_baselines`. Everything else is in pyproject.toml.
"""
from setuptools import find_packages, setup

PREFIXED_FOLDERS = {
    "instrack_annotation": "annotation",
    "instrack_leaderboard": "leaderboard",
    "instrack_baselines": "baselines",
}

packages = find_packages(include=["instrack", "instrack.*", "trackgpt", "trackgpt.*"])
package_dir = {}
for name, folder in PREFIXED_FOLDERS.items():
    package_dir[name] = folder
    packages.append(name)
    packages.extend(f"{name}.{sub}" for sub in find_packages(folder))

setup(packages=packages, package_dir=package_dir)
