"""Importing a released InsTrack archive (zip, tar or folder) into the layout of
SPEC §1: `unpack` (hostile archives refused), `layouts` (what this family of
datasets ships: Ref-YouTube-VOS, MeViS, one folder per target), `mask_dict`
(MeViS RLE masks), `convert` (through curate's writer, staged and renamed)."""
