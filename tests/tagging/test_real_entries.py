"""The offline tagger on sentences real developers wrote in public, labelled apart from its rules.

`data/real_entries.csv` (see `data/README.md`): 450 sentences from issue and PR titles,
commit lines, changelogs, Q&A and posts, a third of them German, 90 of them hard negatives
(technology names in their ordinary sense: a python in a zoo, rust on a chain). The split
into `dev` and `heldout` is fixed in the file; no rule is tuned on `heldout`.
`data/ordinary_text.csv`: 331 sentences of ordinary prose (news, blogs, encyclopaedias)
around a word that is also a technology's name; a development set, like `dev`.

The labels use the gazetteer's canonical names where it knows the technology (`NGINX` is
labelled `Nginx`), so that a spelling is never counted as a miss.

Held-out figures over time (precision, recall, F1; hard negatives tagged of 90):
- when the set was added: 0.932, 0.665, 0.776; 7.
- guarded names in lower case in plainly technical sentences: 0.923, 0.718, 0.808; 7.
- the long list of 20,000 names, editors, CLIs and trackers as tags, glued versions,
  misspellings, blockers for unguarded names, German compounds as technical words,
  links left out: 0.920, 0.823, 0.869; 4. Ordinary prose: 9 of 331 sentences tagged (37
  before the blockers).

The floors below sit a little under the latest figures: they catch a regression. The
targets of the work on the tagger are higher (held-out F1 0.92 with precision 0.95, at
most 1 hard negative in 30 tagged).
"""
import csv
from collections import Counter
from pathlib import Path

import pytest

from tagging.taggers.keywords import KeywordTagger

REAL_ENTRIES = Path(__file__).parent / "data" / "real_entries.csv"
ORDINARY_TEXT = Path(__file__).parent / "data" / "ordinary_text.csv"


@pytest.fixture(scope="module")
def rows():
    with REAL_ENTRIES.open(encoding="utf-8", newline="") as handle:
        found = list(csv.DictReader(handle))
    results = KeywordTagger().tag([row["entry"] for row in found])
    for row, result in zip(found, results, strict=True):
        row["expected"] = {tag for tag in row["tags"].split("|") if tag}
        row["found"] = set(result.tags)
    return found


def scores(rows) -> tuple[float, float, float]:
    true = sum(len(row["found"] & row["expected"]) for row in rows)
    false = sum(len(row["found"] - row["expected"]) for row in rows)
    missed = sum(len(row["expected"] - row["found"]) for row in rows)
    precision, recall = true / (true + false), true / (true + missed)
    return precision, recall, 2 * precision * recall / (precision + recall)


def test_the_set_is_real_varied_and_split_once(rows):
    assert len(rows) >= 400
    assert len({row["entry"].casefold() for row in rows}) == len(rows), "no sentence twice"
    assert all(row["source"] for row in rows), "every sentence names where it was found"
    languages, kinds, splits = (Counter(row[key] for row in rows) for key in ("lang", "kind", "split"))
    assert languages["de"] >= len(rows) / 5
    assert kinds["negative"] >= 60
    assert set(splits) == {"dev", "heldout"} and min(splits.values()) >= 0.4 * len(rows)
    assert sum(1 for row in rows if row["kind"] == "negative" and not row["expected"]) >= 60, "hard negatives"


def test_keyword_tagger_on_real_text(rows):
    parts = {
        "held-out": [row for row in rows if row["split"] == "heldout"],
        "development": [row for row in rows if row["split"] == "dev"],
        "German": [row for row in rows if row["lang"] == "de"],
    }
    figures = {name: scores(part) for name, part in parts.items()}
    negatives = [row for row in rows if row["kind"] == "negative"]
    tagged = [row for row in negatives if row["found"] - row["expected"]]
    for name, (precision, recall, f1) in figures.items():
        print(f"KeywordTagger, real {name} ({len(parts[name])}): precision={precision:.3f} recall={recall:.3f} F1={f1:.3f}")
    print(f"hard negatives tagged: {len(tagged)} of {len(negatives)}")

    precision, recall, f1 = figures["held-out"]
    assert f1 >= 0.85 and precision >= 0.90
    assert figures["development"][2] >= 0.93
    assert len(tagged) <= 5


def test_ordinary_prose_is_seldom_tagged():
    with ORDINARY_TEXT.open(encoding="utf-8", newline="") as handle:
        found = list(csv.DictReader(handle))
    assert len(found) >= 300 and all(row["source"] and row["trap"] for row in found)
    assert sum(row["lang"] == "de" for row in found) >= len(found) / 5
    results = KeywordTagger().tag([row["entry"] for row in found])
    tagged = [(row["entry"], result.tags) for row, result in zip(found, results, strict=True) if result.tags]
    print(f"ordinary prose tagged: {len(tagged)} of {len(found)}")
    assert len(tagged) <= 12, tagged
