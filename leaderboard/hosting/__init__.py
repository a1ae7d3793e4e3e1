"""Packaging the same evaluator for other hosts: an EvalAI `evaluate()` entry
point (evalai.py) and a Codabench competition bundle (codabench.py)."""
