"""The InsTrack leaderboard (installed as `instrack_leaderboard`): a results
store on SQLAlchemy with the paper's reported tables, renderers (md, LaTeX,
HTML, CSV), plots, a web board that takes submissions, and its worker.

Data flows one way: evaluator result JSON -> store -> renderers and web.
Nothing in `instrack` imports this package at import time."""
