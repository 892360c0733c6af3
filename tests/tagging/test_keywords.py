"""Tests for the offline keyword tagger, its gazetteer and its accuracy on a labelled set."""
import csv
from pathlib import Path

import pytest

from tagging.taggers.base import TaggedEntry
from tagging.taggers.keywords import KeywordTagger, build_gazetteer, canonical_name, find_technologies, get_gazetteer

LABELLED_ENTRIES = Path(__file__).parent / "data" / "labelled_entries.csv"


def tags(text):
    return KeywordTagger().tag([text])[0].tags


def read_labelled():
    with LABELLED_ENTRIES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [(row["entry"], {tag for tag in row["tags"].split("|") if tag}) for row in rows]


def test_tag_returns_one_entry_per_input_in_order():
    result = KeywordTagger().tag(["A Django app on PostgreSQL", "", "   \n", "Lunch with the team"])
    assert result == [
        TaggedEntry(tags=("Django", "PostgreSQL")),
        TaggedEntry(tags=()),
        TaggedEntry(tags=()),
        TaggedEntry(tags=()),
    ]


def test_tagger_rejects_options():
    with pytest.raises(TypeError):
        KeywordTagger(model="gpt-4o")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Tuned postgres vacuum settings", ("PostgreSQL",)),
        ("Moved the data to PostgreSQL", ("PostgreSQL",)),
        ("Cleaned up the k8s manifests", ("Kubernetes",)),
        ("The js bundle got smaller", ("JavaScript",)),
        ("Converted the scripts to ts", ("TypeScript",)),
        ("Ported the worker to golang", ("Go",)),
        ("Added drf serializers", ("Django REST framework",)),
        ("Upgraded nodejs on the runners", ("Node.js",)),
        ("Upgraded node.js on the runners", ("Node.js",)),
        ("Bindings for csharp", ("C#",)),
        ("Bindings for cpp", ("C++",)),
        ("dotnet test runs in CI", (".NET",)),
        ("Stored uploads in S3 via aws", ("Amazon S3", "Amazon Web Services")),
        ("Objective-C bridging header", ("Objective-C",)),
        ("scikit learn pipeline", ("scikit-learn",)),
    ],
)
def test_aliases_map_to_canonical_names(text, expected):
    assert tags(text) == expected


def test_names_with_symbols_match():
    text = "Compared C++, C#, .NET, Node.js, F#, Vue.js and ASP.NET Core."
    assert tags(text) == ("C++", "C#", ".NET", "Node.js", "F#", "Vue.js", "ASP.NET Core")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Javascript tooling is a mess", ("JavaScript",)),
        ("Goal for this sprint: fewer flaky tests", ()),
        ("Found a Rusty old laptop in the storage room", ()),
        ("The reactor pattern is confusing", ()),
        ("Scalable architecture review", ()),
        ("Pythonic code review comments", ()),
        ("Googled the error message", ()),
    ],
)
def test_names_match_whole_words_only(text, expected):
    assert tags(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "went to the store",
        "I will go home",
        "rust on the bike",
        "a swift reply",
        "spring cleaning",
        "express her concerns",
        "read Franz Kafka",
        "react to the news",
        "a flask of tea",
        "had a mocha",
        "in jest",
        "next week",
        # The same words capitalised, as at the start of a sentence.
        "Spring cleaning before the sprint review",
        "React to review comments before Friday",
        "Express delivery of the new monitors arrived",
        "Go home, said my manager",
        "Swift decision from the architecture board",
        "Taylor Swift tickets sold out before I could finish the deploy",
        "Read Franz Kafka on the train home",
        "The Go-to-market meeting ran long",
        "Plan C is to postpone the launch",
        "Julia presented the quarterly numbers",
        "Ruby said she will review the slides",
        "Chef made pasta for the team lunch",
        "Puppet show at my kid's school",
        "Storm warning, working from home",
        "Went to Java for two weeks",
        "Hand rails on the office stairs got fixed",
        "Spark of inspiration on the walk",
        "Had a Mocha and a croissant",
    ],
)
def test_ambiguous_words_in_ordinary_prose_are_not_tags(text):
    assert tags(text) == ()


def test_kubernetes_node_is_not_nodejs():
    assert tags("Node pool autoscaling on the Kubernetes cluster failed") == ("Kubernetes",)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("wrote a Go service", "Go"),
        ("rewrote the parser in Rust", "Rust"),
        ("iOS app in Swift", "Swift"),
        ("Spring Boot microservice", "Spring Boot"),
        ("Express API in Node.js", "Express"),
        ("Kafka consumer", "Apache Kafka"),
        ("Flask app", "Flask"),
        ("React component", "React"),
        ("Goroutines leak in the Go poller", "Go"),
        ("Bumped Rails to 7.1", "Ruby on Rails"),
        ("Wrote a Ruby script for the cleanup", "Ruby"),
        ("Benchmarked the Julia implementation", "Julia"),
        ("Wrote unit tests in Jest for the reducer", "Jest"),
        ("Mocha test suite is green again", "Mocha"),
        ("Fixed a leak in the C extension", "C"),
        ("Rewrote the stats scripts in R", "R"),
        ("Updated Node to 20 LTS on the build agents", "Node.js"),
        ("Wrote Chef cookbooks for the fleet", "Chef"),
        ("Salt minions ignore the pillar data", "SaltStack"),
        ("Spark job ran out of executor memory", "Apache Spark"),
    ],
)
def test_ambiguous_words_with_technical_evidence_are_tags(text, expected):
    assert expected in tags(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Heute habe ich eine REST-API mit Django und PostgreSQL gebaut", ("Django", "PostgreSQL")),
        ("Bug im React-Frontend behoben", ("React",)),
        ("Kubernetes-Cluster aufgesetzt", ("Kubernetes",)),
        ("Docker-Image verkleinert", ("Docker",)),
        ("Python-Skript für den Export geschrieben", ("Python",)),
        ("Neuen Go-Service geschrieben", ("Go",)),
        ("Kafka-Consumer implementiert", ("Apache Kafka",)),
        ("C#-Projekt auf .NET 8 gehoben", ("C#", ".NET")),
        ("Speicherleck im C++-Modul gefunden", ("C++",)),
        ("Vue.js-Komponenten umgestellt", ("Vue.js",)),
        ("Mein Chef will bis Freitag eine Demo sehen", ()),
        ("Der Go-Live ist für Dienstag geplant", ()),
        ("Im Urlaub Kafka gelesen", ()),
        ("Der Helm muss beim Radfahren getragen werden", ()),
    ],
)
def test_german_entries_and_hyphenated_compounds(text, expected):
    assert tags(text) == expected


def test_tags_are_deduplicated_in_order_of_first_mention():
    text = "Kafka consumer in Go. Then Django; later django admin, Postgres and golang again."
    assert tags(text) == ("Apache Kafka", "Go", "Django", "PostgreSQL")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Spring Boot microservice", ("Spring Boot",)),
        ("React Native app for Android", ("React Native", "Android")),
        ("Ruby on Rails upgrade", ("Ruby on Rails",)),
        ("Kafka Streams topology", ("Kafka Streams",)),
        ("Deployed to Google Kubernetes Engine", ("Google Kubernetes Engine",)),
    ],
)
def test_longest_name_wins(text, expected):
    assert tags(text) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("postgres", "PostgreSQL"),
        ("Postgres", "PostgreSQL"),
        ("PostgreSQL", "PostgreSQL"),
        ("k8s", "Kubernetes"),
        ("node", "Node.js"),
        ("NodeJS", "Node.js"),
        ("node js", "Node.js"),
        ("go", "Go"),
        ("Golang", "Go"),
        ("c#", "C#"),
        ("C Sharp", "C#"),
        ("cpp", "C++"),
        ("dotnet", ".NET"),
        ("Vue JS", "Vue.js"),
        ("Spring-Boot", "Spring Boot"),
        ("  django rest framework ", "Django REST framework"),
        ("DRF", "Django REST framework"),
        ("kafka", "Apache Kafka"),
        ("Excel", "Microsoft Excel"),
        ("JSON", None),
        ("microservices", None),
        ("REST", None),
        ("VS Code", "Visual Studio Code"),
        ("neovim", "Neovim"),
        ("ripgrep", "ripgrep"),
        ("click", "click"),
        ("", None),
    ],
)
def test_canonical_name(value, expected):
    assert canonical_name(value) == expected


def test_every_canonical_name_is_its_own_canonical_name():
    names = get_gazetteer().categories
    assert {name: canonical_name(name) for name in names if canonical_name(name) != name} == {}


def test_gazetteer_has_several_hundred_technologies():
    assert len(get_gazetteer().categories) >= 400


@pytest.mark.parametrize(
    "rows, message",
    [
        ([{"canonical": "A", "aliases": "x"}, {"canonical": "B", "aliases": "X"}], "names both"),
        ([{"canonical": "A"}, {"canonical": "A"}], "repeated"),
        ([{"canonical": "A", "cues": "code"}], "cues need a guarded name"),
        ([{"canonical": "A", "guarded": "A", "blockers": "@nobody"}], "unknown word set"),
        ([{"canonical": "A", "guarded": "A", "cues": "two words"}], "single word"),
        ([{"canonical": "A", "guarded": "A", "evidence": "some"}], "evidence"),
    ],
)
def test_malformed_gazetteer_rows_are_rejected(rows, message):
    with pytest.raises(ValueError, match=message):
        build_gazetteer(rows)


def test_labelled_set_uses_only_known_canonical_names():
    labels = set().union(*(expected for _, expected in read_labelled()))
    assert {label for label in labels if canonical_name(label) != label} == set()


def test_accuracy_on_labelled_entries():
    labelled = read_labelled()
    results = KeywordTagger().tag([entry for entry, _ in labelled])
    true_positives = false_positives = false_negatives = 0
    for (_, expected), result in zip(labelled, results):
        found = set(result.tags)
        true_positives += len(found & expected)
        false_positives += len(found - expected)
        false_negatives += len(expected - found)
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / (true_positives + false_negatives)
    f1 = 2 * precision * recall / (precision + recall)
    print(
        f"KeywordTagger on {len(labelled)} labelled entries: "
        f"precision={precision:.3f} recall={recall:.3f} F1={f1:.3f}"
    )
    assert len(labelled) >= 120
    assert precision >= 0.90
    assert f1 >= 0.90



@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("feat(flask): add sentry", ("Flask", "Sentry")),
        ("Worker stops consuming tasks after redis reconnection on celery 5.2.3", ("Redis", "Celery")),
        ("migrated the flask app and its tests to fastapi", ("Flask", "FastAPI")),
        ("jenkins: don't fail build if Docker build fails", ("Jenkins", "Docker")),
        ("bump kafka client to v3", ("Apache Kafka",)),
    ],
)
def test_guarded_names_in_lower_case_are_tags_in_plainly_technical_sentences(text, expected):
    assert tags(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "there was rust on the bike chain again",
        "thanks for the swift reply",
        "we go home at five",
        "spring cleaning in the garden",
        "made celery soup for lunch",
        "reading kafka on the train",
    ],
)
def test_guarded_names_in_lower_case_stay_words_elsewhere(text):
    assert tags(text) == ()


def test_a_capitalised_name_still_needs_evidence_nearby_in_a_technical_sentence():
    assert tags("Julia and I paired on the Django migration.") == ("Django",)


def test_gazetteer_has_thousands_of_technologies_from_the_long_list():
    categories = get_gazetteer().categories
    assert len(categories) >= 15_000
    for name in ("Neovim", "PocketBase", "NumPy", "Tokio", "Amazon Athena", "Grafana Tempo"):
        assert name in categories, name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vuejs3 + vite4 dev server hangs", ("Vue.js", "Vite")),
        ("postgres15 and nodejs 20", ("PostgreSQL", "Node.js")),
        ("angular17 upgrade broke the build", ("Angular",)),
        ("wheels for python3.12", ("Python",)),
        ("Upgrades to .NET8", (".NET",)),
        ("mongo6 in the compose file", ("MongoDB",)),
        ("I recently migrated this site to AstroJS.", ("Astro",)),
        ("CI via travis.yaml", ("Travis CI",)),
        ("Update @angular/cli", ("Angular CLI",)),
        ("inside an angular-cli project", ("Angular CLI",)),
    ],
)
def test_glued_versions_scoped_and_hyphenated_names(text, expected):
    assert tags(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pip install rich", ("pip", "Rich")),
        ("sessions with the python requests library", ("Python", "requests")),
        ("import click", ("click",)),
        ("a rich dessert and a click of the fingers", ()),
        ("requests for comments piled up", ()),
        ("Jest snapshot tests broke", ("Jest",)),  # not the package jest-snapshot
        ("the release line 3.3.x", ()),
    ],
)
def test_long_list_names_that_are_words_need_their_ecosystems_cue(text, expected):
    assert tags(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("prometheus query return no result", ("Prometheus",)),
        ("spark sql can not read hive tables", ("Apache Spark", "Apache Hive")),
        ("benchmarked rust", ("Rust",)),
        ("Replace jest with vitest", ("Jest", "Vitest")),
        ("Testing mit playwright oder cypress", ("Playwright", "Cypress")),
        ("move to Java 17 so that we can go to Spring Boot 3", ("Java", "Spring Boot")),
        ("And like Prometheus and Loki before it, it connects directly to Grafana.",
         ("Prometheus", "Grafana Loki", "Grafana")),
        ("Rust ist eine Open-Source-Systemprogrammiersprache.", ("Rust",)),
    ],
)
def test_context_beyond_the_window_and_in_lower_case(text, expected):
    assert tags(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Die Python schlängelte sich durch ein verstecktes Terrarium.",
        "A family found their pet python in the garden.",
        "Die Festung Kronstadt liegt auf der Insel Kotlin.",
        "Der Musikdirektor der Scala dirigiert das Werk.",
        "My male tomcat was neutered.",
        "Lots of people are full of vim and vigor.",
        "These days, it seems like everyone is a maven.",
        "a person with income is not a vagrant, even if he/she is homeless",
        "In New York, that's called mongo.",
    ],
)
def test_unguarded_names_with_blockers_and_prose_slashes(text):
    assert tags(text) == ()


def test_editors_clis_and_trackers_are_tags():
    assert tags("Cleaned up my Vim config, kubectl aliases and the Jira board") == ("Vim", "kubectl", "Jira")
    assert tags("gcloud auth login exits early") == ("Google Cloud CLI",)


def test_long_list_rows_never_override_curated_names():
    gazetteer = build_gazetteer(
        [{"canonical": "Redis", "aliases": "redis"}],
        [
            {"name": "redis", "ecosystem": "pypi", "common": "0"},
            {"name": "Tempo", "ecosystem": "go", "common": "1"},
            {"name": "build", "ecosystem": "npm", "common": "0"},
        ],
    )
    assert gazetteer.names == {"redis": "Redis", "tempo": "Tempo"}
    assert gazetteer.single["tempo"].rule.listed
    with pytest.raises(ValueError, match="unknown ecosystem"):
        build_gazetteer([], [{"name": "Tempo", "ecosystem": "nowhere", "common": "1"}])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kubernets cluster down after the upgrade", ("Kubernetes",)),
        ("I think biggest issue will be BoostrapVue.", ("BootstrapVue",)),
        ("Postrges is slow on this box", ("PostgreSQL",)),
        ("kubernets in lower case could be anything", ()),
        ("Dockers on strike in the port", ()),  # a plural, and a short name: not a misspelling
    ],
)
def test_misspelt_long_names_in_capitals(text, expected):
    assert tags(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Linting with [ESLint](https://github.com/palantir/tslint)", ("ESLint",)),
        ("W01 go vs rust", ("Go", "Rust")),
        ("flask or django?", ("Flask", "Django")),
        ("we go or we stay, said the rust-coloured cat", ()),
        ("=HYPERLINK(\"http://x\") Python", ("Python",)),  # "python" before a word is no cue
        ("the rich library", ("Rich",)),
    ],
)
def test_links_comparisons_and_package_cues(text, expected):
    assert tags(text) == expected


def test_names_are_found_when_the_gazetteer_remembers_no_more_words(monkeypatch):
    from tagging.taggers import keywords

    gazetteer = keywords.get_gazetteer()
    monkeypatch.setattr(keywords, "SEEN_WORDS", len(gazetteer.seen))
    text = "Zyxwvu qwertzuiop: moved the build to vite4 and python3.12 with Django"
    assert not gazetteer.seen.issuperset(keywords.words_of(text.lower()))
    assert keywords.find_technologies(text) == ("Vite", "Python", "Django")
    assert "zyxwvu" not in gazetteer.seen, "nothing more is remembered"


@pytest.mark.parametrize(("text", "expected"), [
    ("Heute starte ich Windows neu, dann funktioniert alles.", ("Windows",)),
    ("Während Flask seit Jahren als Klassiker gilt, ist das hier neu.", ("Flask",)),
    ("Er nennt die Fenster nur Windows.", ()),  # a blocker is near
    ("Today I restart Windows and it all works.", ()),  # English: evidence is needed
    ("Die Kafka-Ausstellung zeigt Briefe an Milena.", ()),  # Kafka is a name in German too
])
def test_an_english_word_in_a_german_sentence_is_the_technology(text, expected):
    assert find_technologies(text) == expected


def test_the_ordinary_column_takes_only_en():
    row = {"canonical": "Thing", "category": "tool", "guarded": "Thing", "ordinary": "fr"}
    with pytest.raises(ValueError, match="ordinary"):
        build_gazetteer([row])


@pytest.mark.parametrize(("text", "expected"), [
    ("Mongooses are renowned for their ability to kill snakes.", ()),  # not "mongoosejs" misspelt
    ("The most important flask feature: it keeps the heat, with 1.2l inside.", ()),  # a measure, not a version
    ("Upgraded the flask app to 2.3.1 today.", ("Flask",)),
    ('"Pip" means the seed of an apple.', ()),
    ("pip install requests fails behind the proxy", ("pip", "requests")),
    ("Leonardo DiCaprio in „Django Unchained“ as a rich planter.", ()),
    ("Der Begriff Caddy bezeichnet eine Person, die dem Golfer assistiert.", ()),
])
def test_ordinary_words_and_measures_stay_untagged(text, expected):
    assert find_technologies(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("CUDA out of memory when using torch.load", ("CUDA", "PyTorch")),
    ("moved the theme into tailwind.config.js", ("Tailwind CSS",)),
    ("Fixed a typo that was in the README.md doc", ()),
    ("call time.sleep between retries", ()),
])
def test_a_name_before_a_dot_in_code(text, expected):
    assert find_technologies(text) == expected


def test_a_starting_worker_loads_the_gazetteer():
    from asyncrest import worker_started
    from asyncrest.worker import Worker

    get_gazetteer.cache_clear()
    worker_started.send(sender=Worker, worker=None)
    assert get_gazetteer.cache_info().currsize == 1


@pytest.mark.parametrize(("text", "expected"), [
    ("Die Zeitung berichtete über die streikenden Docker im Hamburger Hafen.", ()),
    ("Dockworkers on strike: the Docker union meets today.", ()),
    ("Das Docker-Image für den Streaming-Dienst ist gebaut.", ("Docker",)),
])
def test_docker_the_dock_worker(text, expected):
    assert find_technologies(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # A capitalised long-list product that is also a word counts as an item of a list of
    # technologies, and so does the next item along.
    ("Playwright runs the tests in Chromium, Firefox and WebKit.", ("Playwright", "Chromium", "Firefox", "WebKit")),
    ("I tried Ubuntu, Arch, Gentoo and NixOS before settling.", ("Ubuntu", "Arch Linux", "Gentoo", "NixOS")),
    ("Ships for iOS/Android/BlackBerry phones", ("iOS", "Android", "BlackBerry")),
    # A capitalised package of the long list is an item only between two technologies.
    ("Tested with Django, Bottle, Flask and Falcon", ("Django", "bottle", "Flask", "Falcon")),
    ("Tested with Redis and Bottle", ("Redis",)),
    ("Firefox is a fox-like animal in this story.", ()),  # no list of technologies
    ("We ate blackberry, apple and pear.", ()),  # in lower case: a fruit
    ("Blackberry jam on toast", ()),
    # A package of Go's long list is not a product: it is no list item ("Console").
    ("Delete it with the AWS CLI or Console.", ("AWS CLI",)),
])
def test_capitalised_long_list_products_in_a_list_of_technologies(text, expected):
    assert find_technologies(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("I was a distro-hopper for years", ()),
    ("Support $expr in the aggregation pipeline", ()),
    ("Alertmanager handles the lifecycle of an alert", ("Alertmanager",)),
    ("pip install distro to read the OS release", ("pip", "distro")),
])
def test_developers_jargon_needs_a_cue(text, expected):
    assert find_technologies(text) == expected


def test_a_misspelling_keeps_the_first_letter():
    # "Snapshot" is "rsnapshot" without its first letter, and a word.
    assert find_technologies("Fehler nach Update auf 1.0.5 Snapshot") == ()
    assert find_technologies("Rsnapshto runs every night") == ("rsnapshot",)


@pytest.mark.parametrize(("text", "expected"), [
    ("added retries with exponential backoff", ()),
    ("added retries with exponential-backoff", ("exponential-backoff",)),
    ("Symfony console command to backfill invoices", ("Symfony",)),
    ("a port of the tokenizer", ()),
])
def test_a_hyphenated_long_list_name_counts_only_with_its_hyphens(text, expected):
    assert find_technologies(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Switch from tox to nox", ("tox", "nox")),
    ("tox vs nox for the test matrix", ("tox", "nox")),
    ("Deploy tox to nox", ("tox",)),  # "to" pairs two names only after "from"
])
def test_a_long_list_word_compared_with_or_swapped_for_a_technology(text, expected):
    assert find_technologies(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Use acme-systemctl to change the setting", ()),  # a long-list name inside another's
    ("Die pgvector-Erweiterung ist installiert", ("pgvector",)),  # a German compound
    ("we recommend the asdf-vm version manager", ("asdf",)),  # a curated alias
])
def test_a_long_list_name_inside_a_hyphenated_name_is_not_a_tag(text, expected):
    assert find_technologies(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # A command in lower case needs its subcommand: a sentence about software is not enough.
    ("'pod install' failed on the M1", ("CocoaPods",)),
    ("fix: the pod restarted after the deploy", ()),
    ("gh pr create fails behind the proxy", ("GitHub CLI",)),
    ("az webapp up picks the wrong region", ("Azure CLI",)),
    ("dotnet ef migrations add fails", ("Entity Framework",)),  # the tool dotnet-ef
    ("ef migrations bundle fails since the upgrade", ("Entity Framework",)),
    ("PHP 8.1 / WP 6.2 deprecation notices", ("PHP", "WordPress")),
    ("refactor: rename the gh variable", ()),
])
def test_commands_need_their_subcommands(text, expected):
    assert find_technologies(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Move the tests from ``nose`` to ``pytest``.", ("nose", "pytest")),
    ("Move the tests from the nose to the tail.", ()),
])
def test_a_long_list_word_quoted_as_code_is_its_package(text, expected):
    assert find_technologies(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # A guarded row's other names count unless one of its blockers is near.
    ("beer kits are sold by many homebrew suppliers", ()),
    ("the Homebrew package manager on macOS", ("Homebrew", "macOS")),
    ("Ruby, a precious stone, is the gem of July.", ()),
    ("The python, named Winston, latched onto the grill", ()),
])
def test_blockers_hold_for_a_rows_unguarded_names_too(text, expected):
    assert find_technologies(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Forward traces to grafana / tempo", ("Grafana", "Grafana Tempo")),  # two names, not one
    ("Forward traces to Grafana Tempo", ("Grafana Tempo",)),
    ("Update compose to 1.6 and Kotlin to 2.0", ("Jetpack Compose", "Kotlin")),
    ("fix: compose.yaml for the kotlin service", ("Kotlin",)),  # a file, not Jetpack Compose
])
def test_punctuation_parts_names_and_commands_glued_to_files(text, expected):
    assert find_technologies(text) == expected


def test_a_curated_name_written_only_with_hyphens_counts_only_so():
    assert find_technologies("Cleaned up my kubectl-aliases file") == ("kubectl-aliases",)
    assert find_technologies("Cleaned up my kubectl aliases") == ("kubectl",)
    # A row that writes the words with a space too counts both ways.
    assert find_technologies("docker compose up fails") == find_technologies("docker-compose up fails")


@pytest.mark.parametrize(("text", "expected"), [
    ("Update Rails to 5.2.4.3", ("Ruby on Rails",)),  # a version after "to" vouches for the name
    ("**AzureMonitor**: select plugin route from cloudname", ("Azure Monitor",)),  # CamelCase
    ("Configured HomeAssistant and GitHubActions", ("Home Assistant", "GitHub Actions")),
    ("AZUREMONITOR in capitals is a shout, not CamelCase", ()),
    ("In Java kann obj.method() zu einer NullPointerException führen", ("Java",)),
    ("Home Assistant muss schon installiert sein.", ("Home Assistant",)),  # English in German
    ("Can We Terraform Mars? The Science Explained", ()),
    ("Opening Telescope results in Lua errors", ("telescope.nvim", "Lua")),
    ("The new telescope at the observatory shows the stars", ()),
    ("Die AVR lassen sich mit avrdude programmieren.", ("AVR", "avrdude")),
    ("fix: find a way to react on a consumer rebalance", ()),
    ("Eine Python kann in Sümpfen und Regenwäldern leben.", ()),
])
def test_versions_after_to_camel_case_exceptions_and_more_names(text, expected):
    assert find_technologies(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # A name with blockers, in a long sentence with nothing else about software, needs evidence.
    ("The name comes from Python, the great serpent that Apollo killed at Delphi long ago.", ()),
    ("Python ist eine höherwertige, interpretierte Programmiersprache, die 1991 erschien.", ("Python",)),
    ("I love Python", ("Python",)),  # short: no prose to weigh
    ("We rewrote the whole thing in Python over a long weekend at the lake house.", ("Python",)),
])
def test_a_name_with_blockers_in_long_prose_needs_evidence(text, expected):
    assert find_technologies(text) == expected
