"""InsTrack's instruction pipeline, installed as `instrack_annotation`.

Seeds are written by people in a Label Studio server (`labelstudio`, `seeds`,
`review`, `render`, `server`); five rephrasings per seed come from a chat model
and are checked before they are kept (`rephrase`); `report` summarises what a
split holds. Everything reads and writes the split's meta_expressions.json
(SPEC §1) through `meta`. See docs/annotation.md.
"""
