"""Tag technologies in log entries offline, from a gazetteer of names and aliases.

The gazetteer has two parts:

- ``data/technologies.csv``, curated: languages, frameworks, libraries, data stores, message
  brokers, clouds and their services, DevOps and observability tools, ML and data tools,
  testing tools, platforms, and the tools a developer names as part of their stack: editors
  and IDEs (VS Code, Vim, Xcode), command-line tools (kubectl, gcloud, the AWS CLI),
  package managers, CI services, trackers and SaaS APIs (Jira, Sentry, Stripe). Generic
  protocols, formats and concepts (HTTP, REST, JSON, microservices) are not tags.
- ``data/packages.csv``, the long list: about 20,000 names from Debian's archive, PyPI, npm,
  botocore, Google's API catalogue and GitHub's list of languages, rebuilt by
  `tagging.taggers.build_packages`. A curated name wins over a long-list one. A long-list
  name that is also an English or German word ("requests", "click", "rich") counts only
  with a cue of its ecosystem right by it ("pip install rich", "the requests library").

Names glued to a version count as the name ("vite4", "python3.12", ".NET8", "vuejs3"), and
so do names glued to "js" ("astrojs") or to a configuration file's extension
("travis.yml"). Hyphens and slashes split words, so "@angular/cli" and "angular-cli" are
the two words of "Angular CLI"; but a name the gazetteer writes only with hyphens counts
only so ("exponential-backoff", not "exponential backoff"), a long-list name inside a
hyphenated name is not a tag ("avr-libc" is not libc), and punctuation between two words
parts them ("grafana / tempo" is two names). A name of several words written in CamelCase
is that name ("AzureMonitor").

A long-list word that is also a word counts, without its cue, where another technology
vouches for it: capitalised, as an item of a list of technologies ("Ubuntu, Arch,
Gentoo"); in any case, compared with one or swapped for it ("tox vs nox", "from tox to
nox"); or quoted as code on its own ("``nose``").

Columns of the CSV:

- ``canonical``: the tag as stored; also matched, case-insensitively, unless guarded.
- ``category``: a coarse kind (language, web, database, cloud, ...), for readers.
- ``aliases``: ``|``-separated names that always mean this technology, any case.
- ``guarded``: ``|``-separated names that are also ordinary words ("Go", "Swift",
  "Kafka"). They match in exactly this spelling with technical evidence around them, or
  in lower case in a sentence plainly about software (`technical()`) or with the row's
  own cues, and never next to a blocker, so "a swift reply" and "Spring cleaning" are
  not tags.
- ``evidence``: empty to accept generic technical words ("service", "API", "Skript") as
  evidence, or ``cues`` to accept only the row's own cues and other technologies, or
  ``cued`` for the same in lower case too, where a sentence plainly about software is not
  enough: the commands "pod", "gh", "az" are tags with a subcommand ("pod install").
- ``cues``: words that, near a guarded name, show it is the technology ("goroutine").
- ``blockers``: words that show it is not: ``<word`` right before it, ``>word`` right
  after it, ``word`` anywhere near it. ``@name`` stands for a shared set in `WORD_SETS`.
  A row's names that are not guarded count unless a blocker is near ("a python in the
  zoo", "die Insel Kotlin", "homebrew supply shops").
- ``ordinary``: ``en`` where the guarded name's ordinary sense is an English word that
  German does not use ("Windows", "Flask", "Spring"): in a German sentence, the name in
  its exact spelling is the technology unless a blocker is near ("Heute starte ich
  Windows neu"). Names that are German words or names too (Java, Kafka, Docker, Swift)
  have it empty.

Evidence is looked for within `WINDOW` words either side and within one sentence; another
technology nearby (Django, iOS, or a guarded name with evidence of its own) counts, and so
do a dotted version number right after the name ("Rails 7.1"), a bare major version where
another technology is named ("Java 17"), and the row's own cues anywhere in the sentence.
German compounds ending in a technical word ("Webanwendungen") are technical words.
Blockers win over cues.
"""
from __future__ import annotations

import csv
import dataclasses
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

from .base import BaseTagger, TaggedEntry

__all__ = ["KeywordTagger", "canonical_name", "find_technologies", "get_gazetteer"]

# A word, optionally with a leading dot (.NET), inner dots (Node.js, ASP.NET) and a trailing
# ++ or # (C++, C#, F#). Hyphens and slashes split words, so German compounds such as
# "React-Frontend" and "Docker-Image" expose the technology as a word of its own.
TOKEN_RE = re.compile(r"\.?\w+(?:\.\w+)*(?:\+\+|#)?")
# Sentence ends; the dot inside "Node.js" or "v2.0" is not followed by a space. Semicolons
# do not end a sentence: log entries use them to join related clauses.
SENTENCE_RE = re.compile(r"[.!?]+(?:\s+|$)|\n+")
# A dotted version number ("Rails 7.1", "Go 1.22", "Vue 3.x") right after a name.
VERSION_RE = re.compile(r"v?\d+(?:\.(?:\d+|x))+")
# Everything but letters, digits, + and #: what canonical_name() ignores in a last resort.
SQUASH_RE = re.compile(r"[^\w+#]|_")

# A conventional-commit or changelog prefix: "fix:", "feat(flask):", "chore(deps)!:", "brew:".
COMMIT_RE = re.compile(r"^\s*[\w.-]+(?:\([\w./@-]+\))?!?:\s")
# A version ("5.2.3", "v3", "python3.12"), a path or scoped package ("ios/Podfile",
# "@angular/cli"), snake_case, a flag, a file name or a call.
CODE_RE = re.compile(r"\b\d+\.\d+(?!\.?\d|\s?(?:l|ml|kg|g|mg|mm|cm|km|m|h|min|million|billion|percent|prozent|mio|mrd|liter|litre|litres|liters|meter|metres|meters|°|%)\b)|\bv\d+\b|@\w|\w_\w|(?:^|\s)--?\w|\w\.(?:py|js|ts|json|ya?ml|toml|lock)\b|\w\(\)|`")

# A name glued to a version ("vite4", "vuejs3", "python3.12", ".net8", "go1.22"), to "js"
# ("astrojs", "expressjs") or to the extension of its configuration file ("travis.yml").
GLUED_RE = re.compile(
    r"(\.?[a-z][\w.+#]*?[a-z+#])(?:v?\d+(?:\.(?:\d+|x))*|\.?js|\.(?:ya?ml|toml|json|ini|cfg|conf))"
)
#: Punctuation that parts the words of a name: "grafana / tempo", "Apache, Tomcat".
BREAK_RE = re.compile(r"[,;()\[\]|]|\s/|/\s")
#: How many different words `Gazetteer.notice()` sorts and keeps; past that, the words of a
#: text are looked at one by one each time.
SEEN_WORDS = 500_000

#: How a word `GLUED_RE` may match ends, unless it has a dot: a digit, or the "s" of "js".
GLUED_ENDS = frozenset("0123456789s")

#: Extensions of documents, images and source files, whose names are a file's, not a
#: technology's: "README.md" is not ReadMe, "conftest.py" is not Conftest.
DOCUMENT_ENDS = frozenset("md txt rst pdf png jpg jpeg gif svg csv log html htm py rb rs go java kt "
                          "swift php c h cc cpp hpp cs ts tsx jsx".split())

# A path or a scoped package: "ios/Podfile", "jbranchaud/tjs"; see `PROSE_SLASHES`.
SLASH_RE = re.compile(r"[\w.-]+/[\w.-]+")
#: Slashes of ordinary prose, which are not paths.
PROSE_SLASHES = frozenset(
    "and/or he/she she/he s/he his/her her/his him/her w/o 24/7 km/h either/or yes/no on/off "
    "in/out input/output read/write pros/cons und/oder er/sie sie/er ihm/ihr sein/ihr".split()
)


#: Developers' words that the long list has as names but Debian's word lists lack
#: ("distro", "expr", "lifecycle"): they are weighed like the long list's ordinary words.
JARGON = frozenset(
    "argv args base64 codegen cron crontab datetime distro distros enum envs expr lifecycle localhost "
    "mutex param params readme semver structs tokenizer tokenizers util utils".split()
)

#: Words right after a long-list name that show it is a package: "the requests library".
PACKAGE_WORDS = frozenset(
    "library libraries lib package packages module modules crate crates gem gems plugin "
    "plugins extension bibliothek paket pakete modul erweiterung".split()
)
URL_RE = re.compile(r"\w+://\S+")
#: Words that set two names side by side: "go vs rust".
COMPARISONS = frozenset({"vs", "versus", "vs.", "gegen", "oder", "or"})

#: How long a name must be for its misspellings to count.
MISSPELT_LENGTH = 8

#: How many words make a sentence long enough to be prose, where a name with blockers needs evidence.
PROSE_WORDS = 10

#: How many words either side of a guarded name are searched for evidence and blockers.
WINDOW = 5

#: Words that show a text is about software, in English and German.
TECH_WORDS = frozenset(
    """
    api apis app apps application applications async backend backends benchmark benchmarked
    benchmarking benchmarks
    binary binaries bindings branch bug bugs build builds building built bump bumped cache
    caching callback callbacks changelog ci cli client clients cluster clusters code codebase commit
    commits compile compiled compiler compiling component components concurrency config
    configuration container containers crate crates database databases debug debugged
    debugging dependencies dependency deploy deployed deploying deployment deployments
    deprecated deprecation deprecations dev developer endpoint endpoints framework frameworks
    frontend function functions handler handlers hook hooks image images implement
    implemented implementing integration interface language lib libraries library linter
    lint linting logging merge method methods microservice microservices middleware migrate
    migrated migrating migration migrations module modules package packages parser
    performance pipeline pipelines plugin plugins port ported porting pr profiler profiling program
    programs programmer programmers
    programming project queries query queue queues refactor refactored refactoring release
    releases
    repo repository rewrite rewriting rewritten rewrote route routes routing runtime
    schema script scripts sdk server servers service services stack struct syntax
    template templates test tests testing threads tooling upgrade upgraded upgrading
    version versions web webapp website worker workers wrapper
    install installed installing installation crash crashed crashes error errors exception
    exceptions documentation docs command commands terminal editor ide
    extension extensions setup tool tools gpu cpu

    abfrage abfragen abhängigkeit abhängigkeiten anwendung anwendungen bibliothek
    bibliotheken datenbank datenbanken dienst dienste endpunkt endpunkte entwickelt
    fehler funktion funktionen gebaut implementiert klasse klassen komponente komponenten
    konfiguration migriert modul paket pakete programm programmiert projekt projekte
    quellcode rechner refaktoriert schnittstelle skript skripte umgeschrieben umgestellt
    werkzeuge werkzeugen installieren installation aktualisiert aktualisieren fehlermeldung
    erweiterung erweiterungen befehl befehle programmiersprache programmiersprachen
    infrastruktur infrastructure cloud shortcut shortcuts keybinding keybindings
    """.split()
)

#: Words that vouch for a long-list name that is also a word ("requests", "click", "rich"),
#: by the ecosystem it comes from: its language, its package manager, "package", "import".
ECOSYSTEM_CUES: Mapping[str, str] = {
    "pypi": "python python3 pip pipx pypi poetry conda import package packages library lib module "
    "paket pakete bibliothek bibliotheken django flask",
    "npm": "npm npx yarn pnpm node nodejs js javascript typescript import require package packages "
    "library lib module paket bibliothek",
    "rubygems": "ruby gem gems gemfile bundler bundle rails",
    "crates": "rust cargo crate crates",
    "go": "go golang module modules",
    "packagist": "php composer laravel symfony package",
    "cran": "r cran rstudio tidyverse",
    "maven": "java maven gradle jvm kotlin scala jar",
    "hackage": "haskell cabal hackage ghc",
    "tool": "install installed installing apt brew command cli terminal shell config dotfiles "
    "installiert befehl",
    "language": "language languages programming code written compiler interpreter sprache "
    "programmiersprache geschrieben",
    "brand": "install installed api sdk cli cloud platform integration selfhosted hosted plugin",
    "aws": "aws amazon",
    "google": "google gcp",
}

# The tail of a German compound that is about software: "Webanwendungen",
# "Systemprogrammiersprache", "Webserver", "Python-Bibliotheken".
COMPOUND_RE = re.compile(
    r"\w{3,}(?:anwendung|anwendungen|server|programmiersprache|bibliothek|bibliotheken|"
    r"datenbank|datenbanken|framework|frameworks|schnittstelle|schnittstellen|entwicklung|"
    r"entwickler|skript|skripte|quellcode|plattform|software|komponente|komponenten|"
    # and the names of exceptions: "NullPointerException", "ValueError"
    r"exception|error)"
)


#: The head of a German compound that is about software: "Datenbankmodelle", "Serverraum".
COMPOUND_STARTS = ("datenbank", "programmier", "software", "server", "quellcode", "schnittstellen",
                   "entwicklungsumgebung", "betriebssystem")


def technical_words(words: Iterable[str]) -> int:
    """Count the lower-cased words about software: in `TECH_WORDS`, or German compounds ending
    or starting in one ("Webanwendungen", "Datenbankmodelle")."""
    return sum(1 for word in words if word in TECH_WORDS or (len(word) > 8 and (
        COMPOUND_RE.fullmatch(word) or word.startswith(COMPOUND_STARTS))))


#: Short words of German and of English, to tell a German sentence by: two German ones and
#: more of them than English ones.
GERMAN_WORDS = frozenset(
    "der die das den dem des und ist sind nicht mit für auf ich wir ein eine einen einem "
    "wird werden wurde auch als bei nach wie kann oder aber noch wenn nur sich von zu im "
    "zum zur über unter dann dass habe hat haben mein meine unsere euch ihr".split()
)
ENGLISH_WORDS = frozenset(
    "the and is are not with for on of to in a an it this that we our my be was were from "
    "by at or but can will has have".split()
)


def german(lowered: list[str]) -> bool:
    """Tell whether a sentence's lower-cased words are German rather than English."""
    german_words = sum(1 for word in lowered if word in GERMAN_WORDS)
    return german_words >= 2 and german_words > sum(1 for word in lowered if word in ENGLISH_WORDS)


#: Shared blocker sets, referenced from the CSV as ``@name``.
WORD_SETS: Mapping[str, str] = {
    # A name used for a person ("Ruby said", "asked Julia") rather than a technology.
    "person": "<told <asked <thanked <pinged <emailed <called <met <colleague <coworker "
    "<kollegin <kollege <mrs <mr <ms <dr <aunt <uncle <daughter <son <wife <husband "
    "<sister <brother <friend >said >says >told >asked >reviewed >approved >thinks "
    ">wants >mentioned >suggested >pinged >joined >presented >reported >sagte >meinte "
    ">fragte birthday geburtstag",
    # An animal: "a python in the zoo", "eine Python im Terrarium".
    "animal": "snake snakes schlange schlangen zoo zoos pet pets terrarium reptile reptiles reptil "
    "reptilien tier tiere tierheim animal animals wildlife burmese swallowed swallow bite bitten "
    "feuerwehr einsatzkräfte rettungskräfte meter metres meters feet foot lange "
    "gras grass cage käfig schlängelte slithered slithering slither latched coiled constrictor "
    "constrictors prey fangs venomous hatchling hatchlings reticulated swamp swamps sumpf sümpfen "
    "rainforest rainforests regenwald regenwäldern grasland grassland jungle dschungel dragon "
    "drache apollo slain mythology mythologie",
    "drink": "coffee tea cup mug drink drank drinking café cafe barista latte kaffee tee "
    "tasse becher thermos whisky whiskey beer wine bier sip",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """What must, and must not, surround a guarded name for it to count."""

    strict: bool
    cues: frozenset[str]
    near: frozenset[str]
    before: frozenset[str]
    after: frozenset[str]

    #: How many words either side are searched for cues and blockers.
    reach: int = WINDOW
    #: Whether the name counts unless a blocker is near (a row with blockers and no guarded name).
    open: bool = False
    #: A name from the long list that is also a word: only its cues right before it count, or
    #: a word such as "library" right after it.
    listed: bool = False
    #: Whether the ordinary word is English only ("Windows", "Flask"): in a German sentence,
    #: the name in its exact spelling is the technology unless a blocker is near.
    english: bool = False
    #: A long-list product name that is also a word ("Firefox", "Gentoo", "fish"): capitalised,
    #: it counts as an item of a list of technologies ("Safari / Firefox").
    itemised: bool = False
    #: Whether the name in lower case needs the row's own evidence too, not only a sentence
    #: plainly about software: a command such as "pod" or "gh" (evidence ``cued``).
    cued: bool = False


@dataclass(frozen=True, slots=True)
class Alias:
    """One name of a technology as a sequence of lower-cased words."""

    words: tuple[str, ...]
    canonical: str
    #: Exact spellings a guarded name must have; None when any case matches.
    spellings: frozenset[tuple[str, ...]] | None = None
    rule: Rule | None = None
    #: A long-list name that is also a word, in its own spelling of several words or with
    #: inner capitals ("Google Chrome", "GitHub Pages", "OpenBSD"): weighed like a guarded
    #: name, on evidence around it, when no cue of its ecosystem is by it.
    spelled: Alias | None = None
    #: A name of several words that its row writes only with hyphens ("exponential-backoff",
    #: "kubectl-aliases"): it counts only written so, not as words of a sentence.
    hyphenated: bool = False
    #: A name from the long list, not a curated one.
    long: bool = False
    #: Whether the sentence around a match must be looked at closer: a name of several
    #: words, or one from the long list (see `find_technologies()`). Set from the others.
    careful: bool = dataclasses.field(default=False, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "careful", len(self.words) > 1 or self.long)


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """The technologies, indexed for one-pass matching and for name lookups."""

    #: Names of one word.
    single: Mapping[str, Alias]
    #: Names of several words by their first word: (length, names of that length by their
    #: words), longest first, so the longest name wins.
    longer: Mapping[str, tuple[tuple[int, Mapping[tuple[str, ...], Alias]], ...]]
    #: The first words of all names.
    first_words: frozenset[str]
    #: The second words of the names in `longer`, by their first word: a quick "no".
    second_words: Mapping[str, frozenset[str]]
    #: Misspellings of the curated one-word names of at least `MISSPELT_LENGTH` letters that
    #: are never words: a letter left out or two swapped ("Kubernets", "Postrges").
    misspellings: Mapping[str, Alias]
    #: Every name, guarded or not, normalised by `name_key()`, to its canonical name.
    names: Mapping[str, str]
    #: The same names with spacing and punctuation removed, for a forgiving lookup.
    squashed: Mapping[str, str]
    #: Canonical name to category.
    categories: Mapping[str, str]
    #: The names of several words written as one ("azuremonitor"): in CamelCase
    #: ("AzureMonitor", "HomeAssistant") they are that name.
    joined: Mapping[str, Alias] = dataclasses.field(default_factory=dict)
    #: Of the words met in texts so far (`seen`), those that start a name, misspell one or
    #: are a name glued to a version, and the glued ones' aliases: `notice()` fills them,
    #: so that each word is looked at once.
    interesting: set[str] = dataclasses.field(default_factory=set, compare=False, repr=False)
    glued: dict[str, Alias] = dataclasses.field(default_factory=dict, compare=False, repr=False)
    seen: set[str] = dataclasses.field(default_factory=set, compare=False, repr=False)

    def notice(self, words: Iterable[str]) -> bool:
        """Sort the words not met before into `interesting` ones (names, their misspellings)
        and `glued` names ("vite4").

        Return False if some are left unsorted: the gazetteer has met `SEEN_WORDS` words
        already, and takes no more.
        """
        seen, interesting = self.seen, self.interesting
        for word in words:
            if word in seen:
                continue
            if len(seen) >= SEEN_WORDS:
                return False
            if word in self.first_words or word in self.misspellings or word in self.joined:
                interesting.add(word)
            elif (alias := glued_alias(self.single, word)) is not None:
                self.glued[word] = alias
                interesting.add(word)
            seen.add(word)
        return True


def glued_alias(single: Mapping[str, Alias], word: str) -> Alias | None:
    """The one-word name glued to a version, to "js" or to a file extension in `word`, if any.

    A name before a dot in code is the name too: "torch.load", "next.config.js",
    "React.useState". A long-list name that is also a word is not ("time.sleep").
    """
    if word[-1] in GLUED_ENDS or "." in word:
        glued = GLUED_RE.fullmatch(word)
        if glued is not None and (alias := single.get(glued.group(1))) is not None:
            return alias
        if "." in word[1:] and word[word.rindex(".") + 1:] not in DOCUMENT_ENDS:
            alias = single.get(word[:word.index(".", 1)])
            if alias is not None and (alias.rule is None or not alias.rule.listed):
                return alias
    return None


def camel_case(word: str) -> bool:
    """Tell whether a word is written in CamelCase: "AzureMonitor", "HomeAssistant", not "AZURE"."""
    return not word.isupper() and any(letter.isupper() for letter in word[1:])


def word_spans(sentence: str) -> list[tuple[int, int]]:
    """Where each of a sentence's words (`words_of()`) starts and ends in it."""
    return [match.span() for match in TOKEN_RE.finditer(sentence)]


def words_of(text: str) -> list[str]:
    """Split text into the words the gazetteer is matched against."""
    return TOKEN_RE.findall(text)


def name_key(value: str) -> str:
    """Return the lookup key of a name: its lower-cased words joined by single spaces."""
    return " ".join(TOKEN_RE.findall(value.lower()))


def squash(value: str) -> str:
    """Return a name lower-cased with everything but letters, digits, + and # removed."""
    return SQUASH_RE.sub("", value.lower())


def split_field(value: str | None) -> list[str]:
    """Return the non-empty ``|``-separated items of a CSV field."""
    return [item.strip() for item in (value or "").split("|") if item.strip()]


def parse_rule(row: Mapping[str, str | None]) -> Rule:
    """Build the context rule of a CSV row; raise `ValueError` if it is malformed."""
    evidence = (row.get("evidence") or "").strip()
    if evidence not in ("", "cues", "cued"):
        raise ValueError(f"{row['canonical']}: evidence must be empty, 'cues' or 'cued', not {evidence!r}")
    near, before, after = set(), set(), set()
    items = split_field(row.get("blockers"))
    while items:
        item = items.pop().lower()
        if item.startswith("@"):
            try:
                items.extend(WORD_SETS[item[1:]].split())
            except KeyError:
                raise ValueError(f"{row['canonical']}: unknown word set {item!r}") from None
        elif item.startswith("<"):
            before.add(item[1:])
        elif item.startswith(">"):
            after.add(item[1:])
        else:
            near.add(item)
    cues = frozenset(cue.lower() for cue in split_field(row.get("cues")))
    for word in (*cues, *near, *before, *after):
        if words_of(word) != [word]:
            raise ValueError(f"{row['canonical']}: cue or blocker {word!r} is not a single word")
    # A cue's plural is a cue too: "engine", "engines".
    cues |= {cue + "s" for cue in cues if cue.isalpha() and len(cue) > 2 and not cue.endswith("s")}
    ordinary = (row.get("ordinary") or "").strip()
    if ordinary not in ("", "en"):
        raise ValueError(f"{row['canonical']}: ordinary must be empty or 'en', not {ordinary!r}")
    return Rule(evidence in ("cues", "cued"), cues, frozenset(near), frozenset(before), frozenset(after),
                open=not split_field(row.get("guarded")), english=ordinary == "en", cued=evidence == "cued")


#: The long list's sources of products rather than packages: brands, languages, tools.
ITEMISED = frozenset(("brand", "language", "tool"))


def package_rule(ecosystem: str) -> Rule:
    """The rule of a long-list name that is also a word: only its ecosystem's cues vouch for it."""
    try:
        cues = ECOSYSTEM_CUES[ecosystem]
    except KeyError:
        raise ValueError(f"unknown ecosystem {ecosystem!r}") from None
    return Rule(True, frozenset(cues.split()), frozenset(), frozenset(), frozenset(), reach=2, listed=True,
                itemised=ecosystem in ITEMISED)


def spelled_rule(ecosystem: str) -> Rule:
    """The rule of a long-list name that is also a word, written in its own spelling with capitals.

    Its ecosystem's cues, technical words, a version or another technology nearby vouch for it.
    """
    return Rule(False, package_rule(ecosystem).cues, frozenset(), frozenset(), frozenset())


def build_gazetteer(
    rows: Iterable[Mapping[str, str | None]], packages: Iterable[Mapping[str, str | None]] = ()
) -> Gazetteer:
    """Index the curated CSV rows, then the long list's `packages` where they name nothing yet.

    Raise `ValueError` if a curated name means two technologies or a row is malformed. A
    long-list name another row has claimed is skipped, and so is a name that is a generic
    technical word ("build", "cache").
    """
    aliases: dict[tuple[str, ...], Alias] = {}
    names: dict[str, str] = {}
    squashed: dict[str, str] = {}
    categories: dict[str, str] = {}

    def claim(index: dict, key, canonical: str, name: str) -> None:
        if index.setdefault(key, canonical) != canonical:
            raise ValueError(f"{name!r} names both {index[key]!r} and {canonical!r}")

    open_rules: dict[str, Rule] = {}
    for row in rows:
        canonical = (row.get("canonical") or "").strip()
        if not canonical or canonical in categories:
            raise ValueError(f"empty or repeated canonical name: {canonical!r}")
        categories[canonical] = (row.get("category") or "").strip()
        guarded = split_field(row.get("guarded"))
        if not guarded and (row.get("cues") or row.get("evidence")):
            raise ValueError(f"{canonical}: cues need a guarded name")
        # A row with blockers but no guarded name: its names count unless a blocker is near.
        rule = parse_rule(row) if guarded or row.get("blockers") else None
        spellings: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
        for name in guarded:
            spellings.setdefault(tuple(name_key(name).split()), set()).add(tuple(words_of(name)))
        names_of_row = [canonical, *split_field(row.get("aliases")), *guarded]
        # Words the row writes only with hyphens count only so: "kubectl-aliases", not
        # "kubectl aliases"; "docker-compose" with its alias "docker compose" counts both ways.
        spaced = {tuple(name_key(name).split()) for name in names_of_row if "-" not in name}
        own_words = tuple(name_key(canonical).split())
        for name in names_of_row:
            words = tuple(name_key(name).split())
            if not words:
                raise ValueError(f"{canonical}: {name!r} has no words")
            # Claiming the joined words also stops two rows from sharing an alias.
            claim(names, " ".join(words), canonical, name)
            claim(squashed, squash(name), canonical, name)
            hyphenated = len(words) > 1 and words not in spaced
            if words in spellings:
                aliases[words] = Alias(words, canonical, frozenset(spellings[words]), rule, hyphenated=hyphenated)
            elif rule is not None and (rule.near or rule.before or rule.after) and words == own_words:
                # A row's own name, if never a word, counts unless one of its blockers is near.
                aliases[words] = Alias(words, canonical, rule=open_rules.setdefault(
                    canonical, rule if rule.open else dataclasses.replace(rule, open=True)), hyphenated=hyphenated)
            else:
                aliases[words] = Alias(words, canonical, hyphenated=hyphenated)

    curated = frozenset(categories)
    rules: dict[str, Rule] = {}
    for row in packages:
        canonical = (row.get("name") or "").strip()
        if not canonical or canonical in categories:
            continue
        ecosystem = (row.get("ecosystem") or "").strip()
        rule = spelled = None
        if (row.get("common") or "").strip() == "1" or canonical.lower() in JARGON:
            rule = rules.get(ecosystem) or rules.setdefault(ecosystem, package_rule(ecosystem))
            spelled = rules.get("^" + ecosystem) or rules.setdefault("^" + ecosystem, spelled_rule(ecosystem))
        for index, name in enumerate([canonical, *split_field(row.get("aliases"))]):
            key, squashed_name = name_key(name), squash(name)
            if not key or key in names or squashed.get(squashed_name, canonical) != canonical or key in TECH_WORDS:
                if index == 0:
                    break  # the row's own name is taken: all of it is
                continue
            names[key] = squashed[squashed_name] = canonical
            categories[canonical] = ecosystem
            words = tuple(key.split())
            hyphenated = len(words) > 1 and "-" in name and " " not in name.strip()
            if index:  # an alias: never a word of English or German (the builder leaves those out)
                aliases[words] = Alias(words, canonical, hyphenated=hyphenated, long=True)
                continue
            as_spelled = None
            if rule is not None and not name.isupper() and (" " in name.strip() or not name[1:].islower()):
                as_spelled = Alias(words, canonical, frozenset({tuple(words_of(name))}), spelled,
                                   hyphenated=hyphenated, long=True)
            aliases[words] = Alias(words, canonical, rule=rule, spelled=as_spelled, hyphenated=hyphenated, long=True)

    single: dict[str, Alias] = {}
    longer: dict[str, dict[int, dict[tuple[str, ...], Alias]]] = {}
    for words, alias in aliases.items():
        if len(words) == 1:
            single[words[0]] = alias
        else:
            longer.setdefault(words[0], {}).setdefault(len(words), {})[words] = alias
    first_words = frozenset(single) | frozenset(longer)
    joined: dict[str, Alias | None] = {}
    for words, alias in aliases.items():
        key = "".join(words)
        if len(words) > 1 and key.isalnum() and key not in first_words:
            previous = joined.setdefault(key, Alias((key,), alias.canonical))
            if previous is not None and previous.canonical != alias.canonical:
                joined[key] = None  # two names written as one: neither
    return Gazetteer(
        single=single,
        longer={
            word: tuple(sorted(by_length.items(), reverse=True)) for word, by_length in longer.items()
        },
        first_words=first_words,
        misspellings=misspellings_of(
            [alias for alias in single.values() if alias.rule is None and alias.canonical in curated],
            first_words),
        second_words={
            word: frozenset(words[1] for _, table in by_length.items() for words in table)
            for word, by_length in longer.items()
        },
        names=names,
        squashed=squashed,
        categories=categories,
        joined={key: alias for key, alias in joined.items() if alias is not None},
    )


def misspellings_of(aliases: Iterable[Alias], names: frozenset[str]) -> dict[str, Alias]:
    """Map each name with a letter after the first left out, or two neighbours after it swapped, to its alias.

    Names shorter than `MISSPELT_LENGTH`, spellings that are names themselves, and
    spellings two names share are left out.
    """
    found: dict[str, Alias | None] = {}
    for alias in aliases:
        word = alias.words[0]
        if len(word) < MISSPELT_LENGTH or not word.isalpha():
            continue
        # The first letter stays: without it a name is often another word ("rsnapshot").
        variants = {word[:index] + word[index + 1:] for index in range(1, len(word))}
        variants |= {word[:index] + word[index + 1] + word[index] + word[index + 2:]
                     for index in range(1, len(word) - 1) if word[index] != word[index + 1]}
        # "mongooses" misspells "mongoosejs", but it is the plural of a name.
        for variant in {v for v in variants - names if not (v[-1] == "s" and v[:-1] in names)}:
            found[variant] = alias if found.get(variant, alias) is alias else None
    return {variant: alias for variant, alias in found.items() if alias is not None}


@functools.cache
def get_gazetteer() -> Gazetteer:
    """Return the gazetteer from ``data/technologies.csv`` and ``data/packages.csv``, loading it on first use."""
    data = resources.files(__package__).joinpath("data")
    with data.joinpath("technologies.csv").open(encoding="utf-8", newline="") as curated, \
            data.joinpath("packages.csv").open(encoding="utf-8", newline="") as packages:
        return build_gazetteer(csv.DictReader(curated), csv.DictReader(packages))


def load_on_worker_start(sender, **kwargs) -> None:
    """Load the gazetteer when a worker starts (`asyncrest.worker_started`), not in its first order."""
    get_gazetteer()


def canonical_name(value: str) -> str | None:
    """Return the canonical name of a technology name or alias, or None if it is unknown."""
    gazetteer = get_gazetteer()
    return gazetteer.names.get(name_key(value)) or gazetteer.squashed.get(squash(value))


def around(lowered: list[str], start: int, end: int, reach: int = WINDOW) -> list[str]:
    """The words within `reach` either side of a match."""
    return lowered[start - reach if start > reach else 0:start] + lowered[end:end + reach]


def blocked(rule: Rule, lowered: list[str], start: int, end: int, near: list[str] | None = None) -> bool:
    """Tell whether a word around a guarded match shows it is the ordinary word.

    `near` is `around()` the match within the rule's reach, when the caller has it already.
    """
    if start and lowered[start - 1] in rule.before:
        return True
    if end < len(lowered) and lowered[end] in rule.after:
        return True
    return bool(rule.near) and not rule.near.isdisjoint(
        around(lowered, start, end, rule.reach) if near is None else near)


def technical(sentence: str, lowered: list[str], plain_matches: int, guarded_matches: int = 0) -> bool:
    """Tell whether a sentence is plainly about software, whatever its casing.

    A commit-style prefix ("fix:", "feat(flask):"), a version number, a code-like token
    (a path, a scoped package, snake_case, a flag), or technical words together with a
    technology named in full, or with two names that may be technologies ("testing with
    playwright or cypress").
    """
    if plain_matches >= 2:
        return True
    tech_words = technical_words(lowered)
    if tech_words >= 2 or (tech_words and (plain_matches or guarded_matches >= 2)):
        return True
    if guarded_matches >= 2 and len(lowered) <= 8 and not COMPARISONS.isdisjoint(lowered):
        return True  # a short comparison of two names: "W01 go vs rust", "flask or django"
    if COMMIT_RE.match(sentence) or CODE_RE.search(sentence):
        return True
    return any(path.lower() not in PROSE_SLASHES for path in SLASH_RE.findall(sentence))


def listed_evidence(rule: Rule, lowered: list[str], start: int, end: int) -> bool:
    """Tell whether a long-list name that is also a word has its cue: "pip install rich", "the requests library".

    A version is not enough: "release line 3.3.x".
    """
    return not rule.cues.isdisjoint(lowered[start - rule.reach if start > rule.reach else 0:start]) or (
        end < len(lowered) and lowered[end] in PACKAGE_WORDS)


#: Words between a name and its version: "Rails to 5.2.4", "Kafka von 2.8 auf 3.1".
VERSION_LINKS = frozenset({"to", "from", "auf", "von", "v", "version"})

#: What `own_evidence()` finds: none ever (a blocker), enough, or that another technology
#: must be named nearby, or anywhere in the sentence (after a bare major version).
BLOCKED, VOUCHED, NEEDS_NEARBY, NEEDS_ANY = range(4)


def own_evidence(rule: Rule, lowered: list[str], start: int, end: int, strict: bool = False) -> int:
    """Weigh the words around a guarded match, leaving out the other technologies of the sentence.

    `strict` (a guarded name in lower case) leaves out generic technical words.
    """
    if rule.listed:
        return VOUCHED if listed_evidence(rule, lowered, start, end) else BLOCKED
    near = around(lowered, start, end, rule.reach)
    if blocked(rule, lowered, start, end, near):
        return BLOCKED
    if end < len(lowered) and (VERSION_RE.fullmatch(lowered[end]) or (
            # "Update Rails to 5.2.4", "Kafka von 2.8 auf 3.1"
            lowered[end] in VERSION_LINKS and end + 1 < len(lowered) and VERSION_RE.fullmatch(lowered[end + 1]))):
        return VOUCHED
    # A bare major version ("Java 17", "react 18") where a technology or a technical word
    # is named too ("upgrading from Expo 34").
    bare_version = end < len(lowered) and lowered[end].isdigit() and len(lowered[end]) <= 3
    if bare_version and technical_words(near):
        return VOUCHED
    if not rule.cues.isdisjoint(near):
        return VOUCHED
    # In its exact spelling, the row's own cue anywhere in the sentence vouches for a
    # name ("Prometheus and Loki ... connect to Grafana"); generic words must be near.
    if not strict and not rule.cues.isdisjoint(lowered):
        return VOUCHED
    if not (rule.strict or strict) and technical_words(near):
        return VOUCHED
    # In lower case, a technical word right by the name ("benchmarked rust", "rewrite
    # this in swift") vouches for it; further away it may be about something else.
    if strict and not rule.strict and technical_words(around(lowered, start, end, 3)):
        return VOUCHED
    return NEEDS_ANY if bare_version else NEEDS_NEARBY


def find_technologies(text: str) -> tuple[str, ...]:
    """Return the canonical names of the technologies in a text, in order of first mention."""
    if "://" in text:  # a link names a host and a path, not what the text is about
        text = URL_RE.sub(" ", text)
    gazetteer = get_gazetteer()
    single, longer, first_words = gazetteer.single, gazetteer.longer, gazetteer.first_words
    second_words, misspellings, joined = gazetteer.second_words, gazetteer.misspellings, gazetteer.joined
    seen, interesting, glued = gazetteer.seen, gazetteer.interesting, gazetteer.glued
    found: dict[str, None] = {}
    for sentence in SENTENCE_RE.split(text):
        if not sentence:
            continue
        words = TOKEN_RE.findall(sentence)
        if not words:
            continue
        lowered = [word.lower() for word in words]
        matches: list[tuple[int, int, Alias]] = []
        lower_case: set[int] = set()  # guarded names written in lower case ("flask", "rust")
        glued_at: set[int] = set()  # names glued to a version ("vite4")
        # Long-list words without their cue ("Gentoo", "nox"): how they may be vouched for.
        listed_at: dict[int, int] = {}
        # Looked at once needed: where the words are in the sentence, whether it may compare
        # or swap two names, whether it has punctuation that parts a name's words, hyphens.
        spans = pairs = breaks = hyphens = None
        next_free = 0  # the word after the last match: matches do not overlap
        weigh = False  # whether a match has a rule to weigh
        if seen.issuperset(lowered) or gazetteer.notice(lowered):
            positions = [index for index, word in enumerate(lowered) if word in interesting]
        else:  # more different words than the gazetteer remembers: look at each
            positions = [index for index, word in enumerate(lowered) if word in first_words
                         or word in misspellings or word in joined or glued_alias(single, word) is not None]
        for position in positions:
            if position < next_free:
                continue
            word = lowered[position]
            if word not in first_words:
                # A name glued to its version ("vite4", "python3.12", ".NET8") is the
                # technology, whatever the name alone would need.
                alias = glued.get(word) or glued_alias(single, word)
                if alias is not None:
                    glued_at.add(len(matches))
                    matches.append((position, position + 1, alias))
                    weigh = weigh or alias.rule is not None
                elif word in misspellings and words[position][0].isupper():
                    # A capitalised word that misspells a name ("Kubernets") is that name.
                    matches.append((position, position + 1, misspellings[word]))
                elif word in joined and camel_case(words[position]):
                    matches.append((position, position + 1, joined[word]))  # "AzureMonitor"
                continue
            if word in longer and position + 1 < len(lowered) and \
                    lowered[position + 1] in second_words[word]:
                candidates = [
                    alias for length, table in longer[word]
                    if (alias := table.get(tuple(lowered[position:position + length]))) is not None
                ]
                if word in single:
                    candidates.append(single[word])
            elif word in single:
                candidates = (single[word],)
            else:
                continue
            for alias in candidates:
                end = position + len(alias.words)
                if alias.careful:
                    if alias.hyphenated:
                        # "exponential backoff" is prose, "exponential-backoff" the package
                        if "-".join(words[position:end]) not in sentence:
                            continue
                    elif end - position > 1 and breaks is not False:
                        if breaks is None:
                            breaks = BREAK_RE.search(sentence) is not None
                        # Unless the words stand side by side, see what parts them: "grafana / tempo".
                        if breaks and " ".join(words[position:end]) not in sentence:
                            if spans is None:
                                spans = word_spans(sentence)
                            if any(BREAK_RE.search(sentence, spans[at][1], spans[at + 1][0])
                                   for at in range(position, end - 1)):
                                continue
                    if hyphens is None:
                        hyphens = "-" in sentence
                    if hyphens and alias.long and not alias.hyphenated and (
                            "-" + words[position] in sentence or words[end - 1] + "-" in sentence):
                        if spans is None:
                            spans = word_spans(sentence)
                        if in_package(sentence, spans, position, end):
                            continue  # "avr-libc" is not libc
                # A long-list name that is also a word, without its cue, leaves its words to
                # shorter names: "Jest snapshot tests" is Jest, not the package jest-snapshot.
                if alias.rule is not None and alias.rule.listed and not listed_evidence(
                        alias.rule, lowered, position, end) and not (
                        # quoted as code on its own: "``nose``", "`rich`"
                        "`" in sentence and f"`{' '.join(words[position:end])}`" in sentence):
                    # In its own spelling ("Firefox", "GitHub Pages"), evidence may vouch for it.
                    if alias.spelled is None or tuple(words[position:end]) not in alias.spelled.spellings:
                        # It may be paired with a technology ("from tox to nox") or, capitalised,
                        # be an item of a list of them ("Ubuntu, Arch, Gentoo"); a name of
                        # several words leaves its words to others.
                        if end - position > 1:
                            continue
                        # A product may be a list's item beside one technology, a package
                        # only between two ("AIOHTTP, Bottle, Celery"); any may be paired.
                        item = (ITEM if alias.rule.itemised else INNER_ITEM) if words[position][0].isupper() else PAIR
                        if item == PAIR or item == INNER_ITEM and "," not in sentence:
                            if pairs is None:
                                pairs = not PAIR_WORDS.isdisjoint(lowered)
                            if not pairs:
                                continue
                            item = PAIR
                        listed_at[len(matches)] = item
                        matches.append((position, end, alias))
                        next_free = end
                        break
                    alias = alias.spelled
                if alias.spellings is not None:
                    spelling = tuple(words[position:end])
                    if spelling not in alias.spellings:
                        if spelling != alias.words:
                            continue
                        lower_case.add(len(matches))
                matches.append((position, end, alias))
                weigh = weigh or alias.rule is not None
                next_free = end
                break
        if not matches:
            continue
        if not weigh:  # names that are never words, and long-list words waiting for a neighbour
            if listed_at:
                if len(listed_at) == len(matches):
                    continue
                accepted = [index not in listed_at or None for index in range(len(matches))]
                in_list(sentence, matches, accepted, listed_at, lowered, spans)
                for (_, _, alias), ok in zip(matches, accepted):
                    if ok:
                        found.setdefault(alias.canonical)
                continue
            for _, _, alias in matches:
                found.setdefault(alias.canonical)
            continue
        # True: the technology; False: not yet, evidence may come; None: not the technology.
        accepted: list[bool | None] = [
            True if alias.rule is None or alias.rule.listed  # a listed one had its cue
            else alias.rule.open and not blocked(alias.rule, lowered, start, end)
            for start, end, alias in matches
        ]
        for index in listed_at:
            accepted[index] = None
        # A name that has blockers, in a long sentence with nothing else about software,
        # needs evidence like a guarded one: "The name comes from Python, the dragon".
        if len(lowered) >= PROSE_WORDS:
            prose = [index for index, ((_, _, alias), ok) in enumerate(zip(matches, accepted))
                     if ok and alias.rule is not None and alias.rule.open]
            if prose and len(prose) == accepted.count(True) and not technical_words(lowered) \
                    and not technical(sentence, lowered, 0):
                for index in prose:
                    accepted[index] = False
        # In German, an English word is the name: "Heute starte ich Windows neu".
        in_german = None
        for index, (start, end, alias) in enumerate(matches):
            if accepted[index] is False and alias.rule.english and index not in lower_case:
                if in_german is None:
                    in_german = german(lowered)
                if in_german and not blocked(alias.rule, lowered, start, end):
                    accepted[index] = True
        for index in glued_at:
            start, end, alias = matches[index]
            # A command glued to a file's extension is a file: "compose.yaml", "pod.yaml".
            accepted[index] = alias.rule is None or not alias.rule.cued and not blocked(
                alias.rule, lowered, start, end)
        # A guarded name in lower case is the technology in a sentence plainly about
        # software, unless a blocker says otherwise ("feat(flask): add sentry"); in
        # its exact spelling it needs evidence nearby, as below.
        if lower_case:
            unblocked = {index for index in lower_case if not blocked(
                matches[index][2].rule, lowered, matches[index][0], matches[index][1])}
            technical_sentence = bool(unblocked) and technical(
                sentence, lowered, accepted.count(True), len(unblocked))
            for index in lower_case:  # outside such a sentence, the row's own cues must vouch
                accepted[index] = technical_sentence and index in unblocked and not matches[index][2].rule.cued
        # Another technology nearby vouches for a guarded name, and so does a guarded one
        # accepted on its own evidence ("Kafka consumer in Go"); two with none ("Ruby and
        # Julia") stay people. Nearby, not anywhere in the sentence: "Had a Java at the
        # café, then fixed the Postgres index" is about coffee.
        waiting = []  # (index, start, end, what it needs) of the names that need another
        for index, ok in enumerate(accepted):
            if ok is False:
                start, end, alias = matches[index]
                need = own_evidence(alias.rule, lowered, start, end, index in lower_case)
                if need == VOUCHED:
                    accepted[index] = True
                elif need != BLOCKED:
                    waiting.append((index, start, end, need))
        while waiting:
            anchors = [start for (start, _, _), ok in zip(matches, accepted) if ok]
            if not anchors:
                break
            still = []
            for index, start, end, need in waiting:
                if need == NEEDS_ANY or any(start - WINDOW <= anchor < end + WINDOW for anchor in anchors):
                    accepted[index] = True
                else:
                    still.append((index, start, end, need))
            if len(still) == len(waiting):
                break
            waiting = still
        if listed_at and any(accepted):
            in_list(sentence, matches, accepted, listed_at, lowered, spans)
        for (_, _, alias), ok in zip(matches, accepted):
            if ok:
                found.setdefault(alias.canonical)
    return tuple(found)


def in_package(sentence: str, spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Tell whether the words from `start` to `end` are part of a hyphenated name ("avr-libc",
    "hypernode-systemctl"), not a German compound ("pgvector-Erweiterung").
    """
    if start and sentence[spans[start - 1][1]:spans[start][0]] == "-":
        return True
    return end < len(spans) and sentence[spans[end - 1][1]:spans[end][0]] == "-" and \
        sentence[spans[end][0]].islower()


#: What may stand between two items of a list: "Ubuntu, Arch", "iOS/Android", "Chrome / Firefox".
LIST_GAP_RE = re.compile(r"\s*(?:[,/+&|]|\band\b|\bund\b|\bor\b|\boder\b)\s*", re.IGNORECASE)
#: What stands between two technologies compared or swapped: "tox vs nox", "from tox to nox".
PAIR_GAP_RE = re.compile(r"\s+(?:vs\.?|versus|gegen)\s+|\s+(?:to|zu|auf|nach)\s+", re.IGNORECASE)
#: The word before the first of two swapped technologies: "from tox to nox".
SWAP_WORDS = frozenset({"from", "von"})
#: The links of `PAIR_GAP_RE` that pair two names only after one of `SWAP_WORDS`.
SWAP_LINKS = frozenset({"to", "zu", "auf", "nach"})
#: The words without which a sentence compares or swaps no names.
PAIR_WORDS = SWAP_WORDS | {"vs", "versus", "gegen"}


#: How a long-list word without its cue may be vouched for (`in_list()`): as a list's item
#: beside one technology (a capitalised product), as an item between two (a capitalised
#: package), or paired with one.
PAIR, INNER_ITEM, ITEM = range(3)


def in_list(sentence: str, matches: list[tuple[int, int, Alias]], accepted: list[bool | None],
            listed_at: Mapping[int, int], lowered: list[str], spans: list[tuple[int, int]] | None) -> None:
    """Accept the long-list words (`listed_at`) that a technology beside them vouches for.

    A capitalised product right next to an accepted technology, with only a comma, a slash,
    "and" or "or" between them, is an item of a list of technologies; so is the next item
    along ("Ubuntu, Arch, Gentoo, Exherbo"). A capitalised package is one between two
    ("AIOHTTP, Bottle, Celery"). Any long-list word compared with one ("tox vs nox") or
    swapped for it ("from tox to nox") is one too. `spans` are the sentence's `word_spans()`,
    if the caller has them already.
    """
    last = len(matches) - 1
    if not any((index and accepted[index - 1]) or (index < last and accepted[index + 1]) for index in listed_at):
        return  # no item has a technology beside it
    if spans is None:
        spans = word_spans(sentence)

    def gap(left: int, right: int) -> str:
        """The text between two neighbouring matches."""
        return sentence[spans[matches[left][1] - 1][1]:spans[matches[right][0]][0]]

    def paired(left: int, right: int) -> bool:
        found = PAIR_GAP_RE.fullmatch(gap(left, right))
        if found is None:
            return False
        first = matches[left][0]
        return found.group().strip().lower() not in SWAP_LINKS or bool(first and lowered[first - 1] in SWAP_WORDS)

    changed = True
    while changed:
        changed = False
        for index, item in sorted(listed_at.items()):
            if accepted[index]:
                continue
            before = index > 0 and accepted[index - 1]
            after = index < last and accepted[index + 1]
            listed = [item != PAIR and side and LIST_GAP_RE.fullmatch(gap(*pair)) is not None
                      for side, pair in ((before, (index - 1, index)), (after, (index, index + 1)))]
            if (item == ITEM and any(listed)) or (item == INNER_ITEM and all(listed)) or \
                    (before and paired(index - 1, index)) or (after and paired(index, index + 1)):
                accepted[index] = changed = True


class KeywordTagger(BaseTagger):
    """Tag entries with the technologies a curated gazetteer finds in them, offline."""

    def tag(self, entries: Sequence[str]) -> list[TaggedEntry]:
        """Return one `TaggedEntry` per entry with its canonical technology names.

        Entries with the same tags share one `TaggedEntry`, which is immutable.
        """
        made: dict[tuple[str, ...], TaggedEntry] = {}
        results = []
        for entry in entries:
            tags = find_technologies(entry or "")
            result = made.get(tags)
            if result is None:
                result = made[tags] = TaggedEntry(tags=tags)
            results.append(result)
        return results
