"""Five rephrasings per seed from an OpenAI-compatible chat model.

prompt   what is sent (versioned and hashed) and the pydantic response schemas
llm      one chat call: on-disk cache, backoff on 429/5xx, the Batch API
checks   deterministic checks of a candidate (category, near-duplicates, length)
pipeline the per-seed loop (generate, check, judge, regenerate) and the meta writes
"""
