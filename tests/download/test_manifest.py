"""The parameter manifest: the real one reads and lists the published set; broken entries are explained."""

from __future__ import annotations

import pytest
import yaml

from snakefold.common.errors import SnakefoldError
from snakefold.install.manifest import Source, load_manifest, source_url


def test_the_repository_manifest_lists_the_published_parameter_set():
    item = load_manifest()["alphafold_params_2022-12-06"]
    assert item.license == "CC BY 4.0"
    assert item.sources[0].url == "https://storage.googleapis.com/alphafold/alphafold_params_2022-12-06.tar"
    expected = {f"params_model_{i}{suffix}.npz" for i in range(1, 6) for suffix in ("", "_ptm", "_multimer_v3")}
    assert set(item.files) == expected | {"LICENSE"}
    assert item.hash_files


@pytest.mark.parametrize("entry, message", [
    ({"sources": [{"url": "https://x/a.tar", "format": "zip"}], "files": ["a"]}, "'format' must be one of"),
    ({"sources": [{"url": "https://x/a.tar", "format": "tar", "sha256": "abc"}], "files": ["a"]},
     "'sha256' must be 64 hexadecimal digits"),
    ({"sources": [{"url": "https://x/a.tar", "format": "tar", "size": "5.3 GB"}], "files": ["a"]},
     "'size' must be a number of bytes"),
    ({"sources": [{"url": "https://x/a.tar", "format": "tar"}], "files": ["../a"]}, "inside the item's directory"),
    ({"sources": [{"url": "https://x/a.tar", "format": "tar"}], "files": ["a"], "licence": "x"},
     "unknown field\\(s\\) licence"),
    ({"sources": [], "files": ["a"]}, "'sources' must list at least one source"),
])
def test_broken_entries_are_explained_with_their_name(tmp_path, entry, message):
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump({"parameter_sets": {"my_set": entry}}))
    with pytest.raises(SnakefoldError, match=message) as error:
        load_manifest(path)
    assert "parameter set 'my_set'" in str(error.value) and str(path) in str(error.value)


def test_mirrors_replace_urls_by_file_name_url_or_base():
    source = Source(url="https://storage.googleapis.com/alphafold/alphafold_params_2022-12-06.tar", format="tar")
    assert source_url(source) == source.url
    assert source_url(source, mirror="http://mirror.lan/af2/") == "http://mirror.lan/af2/alphafold_params_2022-12-06.tar"
    assert source_url(source, {"alphafold_params_2022-12-06.tar": "http://a/p.tar"}, "http://b/") == "http://a/p.tar"
    assert source_url(source, {source.url: "file:///data/p.tar"}) == "file:///data/p.tar"
