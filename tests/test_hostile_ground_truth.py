"""Ground truth is user input too (a download, an archive): every meta file that
fails to parse, however it fails, is one DataError naming the file, in each
layout the evaluator and the importer read."""

from __future__ import annotations

from pathlib import Path

import pytest

from instrack.dataset.layout import read_split
from instrack.dataset.sources.mevis_layout import read_mevis_split
from instrack.dataset.sources.refer_layout import read_refer_layout
from instrack.dataset.sources.revos_layout import read_revos_split
from instrack.errors import DataError

BAD_JSON = {
    "nested-too-deeply": b"[" * 100_000 + b"]" * 100_000,
    "5000-digit integer": b'{"videos": {"v": {"frames": [' + b"9" * 5000 + b"]}}}",
    "not UTF-8": b'{"videos": "\xff\xfe"}',
    "truncated": b'{"videos": {"v": ',
}

LAYOUTS = {  # where each reader looks for its meta file, and how to call it
    "instrack": ("test/meta_expressions.json", lambda root: read_split(root, "test")),
    "mevis": ("valid_u/meta_expressions.json", lambda root: read_mevis_split(root, "valid_u")),
    "refer": ("meta_expressions/valid/meta_expressions.json", lambda root: read_refer_layout(root, "valid")),
    "revos": ("meta_expressions_valid_.json", lambda root: read_revos_split(root, "valid")),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("kind", sorted(BAD_JSON))
def test_a_meta_file_that_does_not_parse_is_one_named_error(tmp_path: Path, layout: str, kind: str) -> None:
    rel, read = LAYOUTS[layout]
    meta = tmp_path / rel
    meta.parent.mkdir(parents=True, exist_ok=True)
    meta.write_bytes(BAD_JSON[kind])
    with pytest.raises(DataError) as caught:
        read(tmp_path)
    message = str(caught.value)
    assert message.startswith(str(meta)) and "\n" not in message and len(message) < 400, message


def _manifest(path):
    from instrack.dataset.manifest import load_manifest

    return load_manifest(path)


def _vipseg_categories(path):
    from instrack.dataset.sources.vipseg import load_categories

    return load_categories(path)


def _llava_instruct(path):
    pytest.importorskip("trackgpt.data.conversations")
    from trackgpt.data.conversations import read_llava_instruct

    return read_llava_instruct(path)


@pytest.mark.parametrize("reader", [_manifest, _vipseg_categories, _llava_instruct])
@pytest.mark.parametrize("kind", sorted(BAD_JSON))
def test_other_user_json_files_fail_in_one_named_line(tmp_path: Path, reader, kind: str) -> None:
    path = tmp_path / "file.json"
    path.write_bytes(BAD_JSON[kind])
    with pytest.raises(DataError) as caught:
        reader(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message and len(message) < 400, message
