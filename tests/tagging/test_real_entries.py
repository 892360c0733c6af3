"""The offline tagger on sentences real developers wrote in public, labelled apart from its rules.

`data/real_entries.csv` (see `data/README.md`): 1,527 sentences from issue and PR titles,
commit lines, changelogs, Q&A and posts, more than a quarter of them German, 371 of them
hard negatives (technology names in their ordinary sense: a python in a zoo, rust on a
chain), in three batches gathered and labelled apart (450, 648, then 429). The split into
`dev` and `heldout` is a hash of the sentence, fixed once; no rule is tuned on `heldout`.
`data/ordinary_text.csv`: 331 sentences of ordinary prose (news, blogs, encyclopaedias)
around a word that is also a technology's name; a development set, like `dev`.

The labels use the gazetteer's canonical names where it knows the technology (`NGINX` is
labelled `Nginx`), so that a spelling is never counted as a miss.

Held-out figures of batch 1 over time (precision, recall, F1; hard negatives tagged of 90):
- when the set was added: 0.932, 0.665, 0.776; 7.
- guarded names in lower case in plainly technical sentences: 0.923, 0.718, 0.808; 7.
- the long list of 20,000 names, editors, CLIs and trackers as tags, glued versions,
  misspellings, blockers for unguarded names, German compounds as technical words,
  links left out: 0.920, 0.823, 0.869; 4. Ordinary prose: 9 of 331 sentences tagged (37
  before the blockers).

Batch 2 was added once batch 1's held-out part had been read, in figures only, for two
sessions: it brings a fresh held-out part, and a development part whose misses show what
batch 1's no longer did. With the tagger as it was when batch 2 was gathered: batch 2
held-out 0.887, 0.736, 0.805; all held-out 0.900, 0.770, 0.830, and 12 of its 118 hard
negatives tagged.

Then, in the session that added batch 2 (sentence-wide and German rules, about 950 more
curated names from developer surveys and tool lists, misspellings of 8 letters or more):
all held-out 0.920, 0.810, 0.862 (batch 1 0.921, 0.827, 0.871; batch 2 0.919, 0.800,
0.855); 9 of 118 held-out and 0 of 117 development hard negatives tagged, 3 of batch 1's
90; German 0.905; ordinary prose 8 of 331.

Batch 3 was added in the session after, once the gazetteer had taken 3,360 more curated
names from awesome lists, registries' top lists and landscapes (with the rules of lists of
technologies, jargon, hyphenated names, commands and code quotes): at that point all
held-out 0.933, 0.848, 0.889 (batch 1 0.894, batch 2 0.885) and 9 of 118 hard negatives
tagged; then, with batch 3, its fresh held-out part 0.887, 0.822, 0.853, all held-out
0.922, 0.841, 0.880 and 15 of 190 hard negatives tagged. After reading batch 3's
development part (Home Assistant in German, versions after "to", CamelCase names,
exception names as technical words, a few names): all held-out 0.922, 0.850, 0.885
(batch 3 0.891, 0.857, 0.874); 14 of 190 held-out and 1 of 181 development hard
negatives tagged; development 0.943, German 0.919; ordinary prose 2 of 331. Then a name
with blockers in a long sentence with nothing else about software came to need evidence:
all held-out 0.926, 0.847, 0.885 (batch 1 0.892, batch 2 0.888, batch 3 0.872); 8 of 190
held-out and 0 of 181 development hard negatives tagged; development 0.944, German
0.917; ordinary prose 1 of 331. With a few more names (n8n, cibuildwheel, GNOME) and
packages between two technologies as list items: all held-out 0.927, 0.849, 0.886
(batch 3 0.900, 0.857, 0.878); development 0.948, German 0.923.

The floors below sit a little under the latest figures: they catch a regression. The
targets of the work on the tagger are higher (held-out F1 0.92 with precision 0.95, at
most 1 hard negative in 30 tagged).
"""
import csv
import hashlib
from collections import Counter
from pathlib import Path

import pytest

from tagging.taggers.keywords import KeywordTagger

REAL_ENTRIES = Path(__file__).parent / "data" / "real_entries.csv"
#: A little under the latest figures (see the module's docstring): they catch a regression.
FLOORS = {
    "held-out F1": 0.875,
    "held-out precision": 0.915,
    "held-out batch 1 F1": 0.88,
    "held-out batch 3 F1": 0.86,
    "development F1": 0.935,
    "held-out negatives tagged": 10,
    "ordinary sentences tagged": 3,
}
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
    # The split is a hash of the sentence, fixed once: no row was moved to suit a rule.
    assert all(row["split"] == split_of(row["entry"]) for row in rows)
    assert {row["batch"] for row in rows} == {"1", "2", "3"}


def split_of(entry: str) -> str:
    return "dev" if int(hashlib.sha256(entry.encode()).hexdigest(), 16) % 2 == 0 else "heldout"


def test_keyword_tagger_on_real_text(rows):
    parts = {
        "held-out": [row for row in rows if row["split"] == "heldout"],
        "held-out, batch 1": [row for row in rows if row["split"] == "heldout" and row["batch"] == "1"],
        "held-out, batch 2": [row for row in rows if row["split"] == "heldout" and row["batch"] == "2"],
        "held-out, batch 3": [row for row in rows if row["split"] == "heldout" and row["batch"] == "3"],
        "development": [row for row in rows if row["split"] == "dev"],
        "German": [row for row in rows if row["lang"] == "de"],
    }
    figures = {name: scores(part) for name, part in parts.items()}
    for name, (precision, recall, f1) in figures.items():
        print(f"KeywordTagger, real {name} ({len(parts[name])}): precision={precision:.3f} recall={recall:.3f} F1={f1:.3f}")
    negatives = {split: [row for row in rows if row["kind"] == "negative" and row["split"] == split]
                 for split in ("heldout", "dev")}
    tagged = {split: [row for row in part if row["found"] - row["expected"]] for split, part in negatives.items()}
    for split in ("heldout", "dev"):
        print(f"hard negatives tagged, {split}: {len(tagged[split])} of {len(negatives[split])}")

    precision, recall, f1 = figures["held-out"]
    assert f1 >= FLOORS["held-out F1"] and precision >= FLOORS["held-out precision"]
    assert figures["held-out, batch 1"][2] >= FLOORS["held-out batch 1 F1"]
    assert figures["held-out, batch 3"][2] >= FLOORS["held-out batch 3 F1"]
    assert figures["development"][2] >= FLOORS["development F1"]
    # Only the count: the held-out sentences are not for reading.
    assert len(tagged["heldout"]) <= FLOORS["held-out negatives tagged"], len(tagged["heldout"])


def test_ordinary_prose_is_seldom_tagged():
    with ORDINARY_TEXT.open(encoding="utf-8", newline="") as handle:
        found = list(csv.DictReader(handle))
    assert len(found) >= 300 and all(row["source"] and row["trap"] for row in found)
    assert sum(row["lang"] == "de" for row in found) >= len(found) / 5
    results = KeywordTagger().tag([row["entry"] for row in found])
    tagged = [(row["entry"], result.tags) for row, result in zip(found, results, strict=True) if result.tags]
    print(f"ordinary prose tagged: {len(tagged)} of {len(found)}")
    assert len(tagged) <= FLOORS["ordinary sentences tagged"], tagged
