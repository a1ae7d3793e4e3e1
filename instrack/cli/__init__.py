"""The `instrack` command line: one small module per verb (see main.VERBS)."""
