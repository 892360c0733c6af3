"""The long list's builder: its offline parts, and the file it wrote."""
import csv
import io
import tarfile

from tagging.taggers import build_packages
from tagging.taggers.keywords import ECOSYSTEM_CUES


def test_stanzas_read_debian_control_fields_with_continuation_lines():
    text = "Package: tmux\nSection: admin\nDescription-en: terminal multiplexer\n tmux enables ...\n\nPackage: jq\n"
    assert list(build_packages.stanzas(text)) == [
        {"Package": "tmux", "Section": "admin", "Description-en": "terminal multiplexer\ntmux enables ..."},
        {"Package": "jq"},
    ]


def test_display_spelling_prefers_the_spelling_inside_a_sentence():
    assert build_packages.display_spelling("jekyll", "Blog generator. Jekyll is simple; use jekyll or JeKyll.") == "jekyll"
    assert build_packages.display_spelling("pocketbase", "Backend. PocketBase is one file.") == "PocketBase"
    assert build_packages.display_spelling("tmux", "nothing about it") == "tmux"


def test_generic_names_are_left_out():
    for name in ("json", "http-client", "the-silver-searcher", "is-number", "ms", "webhook"):
        assert build_packages.generic(name), name
    for name in ("numpy", "graceful-fs", "PocketBase"):
        assert not build_packages.generic(name), name


def test_deb_member_reads_a_file_from_a_debian_package():
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w") as archive:
        data = b"alpha\nbeta\n"
        info = tarfile.TarInfo("./usr/share/dict/words")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    member = payload.getvalue()

    def entry(name: str, body: bytes) -> bytes:
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(body):<10}`\n".encode()
        return header + body + (b"\n" if len(body) % 2 else b"")

    deb = b"!<arch>\n" + entry("debian-binary", b"2.0\n") + entry("data.tar", member)
    assert build_packages.deb_member(deb, "/usr/share/dict/words") == b"alpha\nbeta\n"


def test_the_checked_in_long_list_is_well_formed():
    path = build_packages.OUTPUT
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == build_packages.FIELDS
    assert len(rows) >= 15_000
    assert len({row["name"].lower() for row in rows}) == len(rows), "one row per name"
    assert {row["ecosystem"] for row in rows} <= set(ECOSYSTEM_CUES)
    assert {row["common"] for row in rows} == {"0", "1"}
    assert all(row["source"] for row in rows)
    common = {row["name"].lower(): row["common"] for row in rows}
    assert common.get("requests") == common.get("click") == "1"  # words need their cue
