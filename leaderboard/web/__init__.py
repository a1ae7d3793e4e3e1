"""The web leaderboard (FastAPI, server-rendered)."""
