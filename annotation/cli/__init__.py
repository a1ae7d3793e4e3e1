"""`instrack` verbs this package contributes through the `instrack.verbs` entry-point group (see pyproject.toml)."""
