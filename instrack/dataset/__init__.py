"""Dataset tooling: the data model (Video, Instruction, Unit), the SPEC §1 layout
reader and writer, source readers (DAVIS-2017 / Ref-DAVIS17, VIPSeg), the selection
manifest, curation, candidate ranking, integrity checks and checksums, the Hugging
Face export/import, `instrack.load`, and the bundled sample.

The evaluator reads ground truth through `layout` and `sources.davis_layout`; the
rest of this package is for people who build, check and publish the data.
"""
