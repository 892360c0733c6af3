"""Rebuild ``data/packages.csv``, the keyword tagger's long list of technology names.

Run it from the repository's root: ``python -m tagging.taggers.build_packages``. It needs
network access to Debian's archive, PyPI and the npm registry, and writes the file anew;
check the diff in. The curated ``data/technologies.csv`` is not touched: where a name is
in both, the curated row wins when the gazetteer is built.

Where the names come from:

- **Debian's archive** (bookworm, main): the packages Debian's teams maintain for each
  ecosystem: ``python3-*`` (PyPI), ``node-*`` (npm), ``ruby-*`` (RubyGems),
  ``librust-*-dev`` (crates.io), ``golang-*-dev`` (Go modules), ``php-*`` (Packagist),
  ``r-cran-*`` (CRAN), ``lib*-java`` (Maven) and ``libghc-*-dev`` (Hackage); and the
  programs in its sections for developers (devel, editors, vcs, database, httpd, web,
  interpreters, net, admin). How many other packages depend on one is its weight, a
  measure of how much it is used. A display name is the spelling the package's own
  description uses ("Jekyll is a ...").
- **PyPI**: the project's own spelling of each Python package's name ("PyYAML", "Flask").
- **botocore** (from PyPI): the full and short names of every AWS service.
- **google-api-python-client** (from PyPI): the titles of Google's APIs.
- **linguist-languages** (from npm): GitHub's list of programming languages and aliases.
- **npm-high-impact** (from npm): the 3,000 most downloaded npm packages.
- **simple-icons** (from npm): the official spelling of software brands ("PocketBase",
  "Neovim"): those whose logo is kept in a code repository, or that Debian's package
  descriptions name.
- **wamerican**, **wbritish** and **wngerman** (Debian): English and German word lists. A name that is
  also a word ("requests", "click", "rich", "tempo") or has at most three letters is marked
  ``common``: the tagger takes it only with a cue of its ecosystem nearby. The lower-case
  entries of **wamerican-huge** and **wbritish-huge** count as words too ("installer",
  "micro").
"""
from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import lzma
import re
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .keywords import TECH_WORDS

DEBIAN = "https://deb.debian.org/debian"
RELEASE = "bookworm"
OUTPUT = Path(__file__).parent / "data" / "packages.csv"
FIELDS = ["name", "ecosystem", "aliases", "common", "weight", "source"]

#: Debian package name patterns, per ecosystem: the group is the upstream name.
ECOSYSTEM_PATTERNS = [
    ("pypi", re.compile(r"python3-(.+)")),
    ("npm", re.compile(r"node-(.+)")),
    ("rubygems", re.compile(r"ruby-(.+)")),
    ("crates", re.compile(r"librust-([a-z0-9-]+?)(?:-\d+(?:\.\d+)*)?-dev")),
    ("go", re.compile(r"golang-(?:github|gitlab|gopkg|golang)-(?:[a-z0-9]+-)?([a-z0-9]+)-dev")),
    ("packagist", re.compile(r"php-(.+)")),
    ("cran", re.compile(r"r-cran-(.+)")),
    ("maven", re.compile(r"lib(.+)-java")),
    ("hackage", re.compile(r"libghc-(.+)-dev")),
]
#: Sections whose programs are developers' tools.
TOOL_SECTIONS = {"devel", "editors", "vcs", "database", "httpd", "web", "interpreters", "net", "admin"}
#: A program's package name: letters, digits and hyphens, with no version inside it.
TOOL_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)*")
#: Debian's own packaging helpers, cross compilers and the like.
TOOL_SKIP_RE = re.compile(r"^(?:dh|debhelper|dpkg|apt|gcc|cpp|gobjc|gfortran|gnat|gdc|gccgo|binutils)-|-(?:linux|gnu|cross|mingw)")
#: Package name endings that are parts of a package, not a technology of their own.
PART_RE = re.compile(
    r"-(?:doc|docs|dbg|dbgsym|dev|common|data|examples|tests?|utils?|tools|bin|lib|"
    r"plugins?|dbg|l10n|locales?|i18n|el|mode|mysql|pgsql|sqlite3|all|core|extra|extras)$"
)
#: Names that are concepts, formats or protocols, never a technology's tag.
GENERIC = frozenset(
    """
    api apis app async auth cache cli client config core crypto css csv data date debug
    dev dns docs email env file files webhook webhooks format ftp html http https icon image io ip json lib
    lint log logger logging mail markdown math mime net orm parser path pdf plugin proxy
    queue regex rest rpc sdk server shell smtp sql ssh ssl svg tcp test testing text time
    tls toml udp ui uri url utf8 utils uuid web xml yaml zip
    """.split()
)


#: The commonest words of English and German prose: a package of that name is left out,
#: however strong the cue around it ("pip install with" is not about a package "with").
STOPWORDS = frozenset(
    """
    a about above after again against all almost also always am an and another any anything
    are around as at away back be because been before being below best better between both
    but by came can cannot come could did do does doing done down during each either else
    even ever every few first for from get gets give given go going good got had has have
    having he her here hers him his how however i if in into is it its just keep know last
    least less let like little long look made make many may me might more most much must my
    near need never new next no nor not now of off often old on once one only or other our
    out over own part per put rather read really right said same say see seem seen set shall
    she should show since so some something still such take than that the their them then
    there these they thing things this those though through thus to too try two under until
    up upon us use used using very want was way we well went were what when where whether
    which while who whom whose why will with within without work would write yes yet you
    your move fail due warning login environment home here minimal
    aber alle als also am an auch auf aus bei bin bis bist da damit dann das dass dein dem
    den der des dich die dir doch dort du durch ein eine einem einen einer eines er es etwas
    euch für gegen hat hatte hier ich ihm ihn ihr im in ist ja jede jedem jeden jeder jetzt
    kann kein keine mal man mehr mein mich mir mit muss nach nicht noch nun nur ob oder ohne
    schon sehr sein seine sich sie sind so soll über um und uns unser unter viel vom von vor
    war wann warum was weil wenn wer werden wie wir wird wo zu zum zur
    """.split()
)


def generic(name: str) -> bool:
    """Tell whether a name is too short, starts with a common word, or is made only of generic words ("http-client")."""
    parts = re.split(r"[-_.\s]+", name.lower())
    return (
        len(name) <= 2 or parts[0] in STOPWORDS  # "the-silver-searcher", "is-number": costly to look up
        or all(part in GENERIC or part in TECH_WORDS or part in STOPWORDS for part in parts)
    )


def fetch(url: str, cache: Path) -> bytes:
    """Return the body at `url`, keeping a copy in `cache`."""
    target = cache / re.sub(r"[^\w.-]", "_", url.split("://", 1)[1])[-200:]
    if not target.exists():
        with urllib.request.urlopen(url, timeout=120) as response:
            target.write_bytes(response.read())
    return target.read_bytes()


def stanzas(text: str):
    """Yield the fields of each stanza of a Debian control file."""
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields:
            yield fields


def deb_member(deb: bytes, suffix: str) -> bytes:
    """Return a file ending in `suffix` from a Debian package's data archive."""
    data = None
    offset = 8  # an ar archive: "!<arch>\n", then 60-byte headers
    while offset < len(deb):
        header = deb[offset:offset + 60]
        name, size = header[:16].decode().strip(), int(header[48:58].decode())
        if name.startswith("data.tar"):
            data = deb[offset + 60:offset + 60 + size]
        offset += 60 + size + (size % 2)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            if member.name.endswith(suffix) and member.isfile():
                return archive.extractfile(member).read()
    raise LookupError(suffix)


def words(packages: dict, cache: Path) -> set[str]:
    """The English and German words of Debian's word lists, lower-cased."""
    found: set[str] = set()
    lists = (("wamerican", "american-english"), ("wbritish", "british-english"), ("wngerman", "ngerman"))
    for package, path in lists:
        deb = fetch(f"{DEBIAN}/{packages[package]['Filename']}", cache)
        text = deb_member(deb, f"/usr/share/dict/{path}").decode("utf-8", "replace")
        found.update(line.strip().lower().removesuffix("'s") for line in text.splitlines())
    return found


def lower_case_words(packages: dict, cache: Path) -> set[str]:
    """The lower-case entries of Debian's biggest English word lists: common nouns, not names.

    A name that is one of them ("installer", "micro") is a word; their parts are not used,
    for these lists hold "js" and "io" too.
    """
    found: set[str] = set()
    for package, path in (("wamerican-huge", "american-english-huge"), ("wbritish-huge", "british-english-huge")):
        deb = fetch(f"{DEBIAN}/{packages[package]['Filename']}", cache)
        text = deb_member(deb, f"/usr/share/dict/{path}").decode("utf-8", "replace")
        found.update(line for line in map(str.strip, text.splitlines()) if line.islower() and "'" not in line)
    return found


def display_spelling(name: str, description: str) -> str:
    """Return the spelling of `name` its description uses, preferring one inside a sentence."""
    pattern = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", re.IGNORECASE)
    first = None
    for match in pattern.finditer(description):
        start = match.start()
        sentence_start = start == 0 or description[:start].rstrip().endswith((".", ":", "\n"))
        if not sentence_start:
            return match.group()
        first = first or match.group()
    return first or name


def pypi_name(name: str, cache: Path) -> str | None:
    """Return a PyPI project's own spelling of its name, or None if PyPI has no such project."""
    target = cache / "pypi" / name
    if not target.exists():
        try:
            with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=60) as response:
                spelling = json.load(response)["info"]["name"]
        except urllib.error.HTTPError:
            spelling = ""
        target.parent.mkdir(exist_ok=True)
        target.write_text(spelling)
    return target.read_text() or None


def debian_rows(cache: Path) -> tuple[list[dict], dict]:
    """Rows from Debian's archive, and its packages by name."""
    index = lzma.decompress(fetch(f"{DEBIAN}/dists/{RELEASE}/main/binary-amd64/Packages.xz", cache))
    packages = {fields["Package"]: fields for fields in stanzas(index.decode("utf-8", "replace"))}
    translations = lzma.decompress(fetch(f"{DEBIAN}/dists/{RELEASE}/main/i18n/Translation-en.xz", cache))
    descriptions = {
        fields["Package"]: fields.get("Description-en", "")
        for fields in stanzas(translations.decode("utf-8", "replace"))
    }
    weights: Counter[str] = Counter()
    for fields in packages.values():
        needed = {
            re.split(r"[\s(:]", item.strip())[0]
            for key in ("Depends", "Pre-Depends", "Recommends")
            for alternative in fields.get(key, "").split(",")
            for item in alternative.split("|")
            if item.strip()
        }
        weights.update(needed)
    rows = []
    for package, fields in packages.items():
        for ecosystem, pattern in ECOSYSTEM_PATTERNS:
            match = pattern.fullmatch(package)
            if match:
                name = match.group(1)
                break
        else:
            if fields.get("Section", "").rpartition("/")[2] not in TOOL_SECTIONS:
                continue
            if package.startswith("lib") or not TOOL_RE.fullmatch(package) or TOOL_SKIP_RE.search(package):
                continue
            ecosystem, name = "tool", package
        if PART_RE.search(name) or "+" in name and ecosystem != "tool":
            continue
        description = descriptions.get(package, fields.get("Description", ""))
        rows.append({
            "name": name,
            "ecosystem": ecosystem,
            "weight": weights[package],
            "description": description,
            "source": f"debian:{RELEASE}/{package}",
        })
    return rows, packages


def botocore_rows(work: Path) -> list[dict]:
    """One row per AWS service, from botocore's service models."""
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "botocore", "-d", work], check=True)
    wheel = zipfile.ZipFile(next(work.glob("botocore-*.whl")))
    services: dict[str, dict] = {}
    for path in sorted(wheel.namelist()):
        if "/service-2.json" not in path:
            continue
        raw = wheel.read(path)
        metadata = json.loads(gzip.decompress(raw) if path.endswith(".gz") else raw)["metadata"]
        full = metadata["serviceFullName"].strip()
        short = (metadata.get("serviceAbbreviation") or "").strip()
        names = [name for name in (short, full) if name.startswith(("AWS ", "Amazon "))]
        if not names:
            continue  # "Access Analyzer", "Account": ordinary words without the brand
        services[path.split("/")[2]] = {
            "name": names[0],
            "aliases": names[1:2] if len(names) > 1 and names[1] != names[0] else [],
            "ecosystem": "aws",
            "weight": 0,
            "source": f"pypi:botocore/{path.split('/')[2]}",
        }
    return list(services.values())


def google_rows(work: Path) -> list[dict]:
    """One row per Google API, from the discovery documents google-api-python-client carries."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "google-api-python-client", "-d", work],
        check=True,
    )
    wheel = zipfile.ZipFile(next(work.glob("google_api_python_client-*.whl")))
    rows: dict[str, dict] = {}
    for path in sorted(wheel.namelist()):
        if "discovery_cache/documents/" not in path or not path.endswith(".json"):
            continue
        document = json.loads(wheel.read(path))
        title = re.sub(r"\s+API$", "", document.get("title", "")).strip()
        if not title or title.lower() in rows:
            continue
        if not title.startswith("Google"):
            title = f"Google {title}"
        rows[title.lower()] = {
            "name": title, "aliases": [], "ecosystem": "google", "weight": 0,
            "source": f"pypi:google-api-python-client/{path.rsplit('/', 1)[1]}",
        }
    return list(rows.values())


def linguist_rows(work: Path) -> list[dict]:
    """One row per programming language of GitHub's linguist."""
    rows = []
    with npm_pack("linguist-languages", work) as archive:
        for member in archive.getmembers():
            if not member.name.startswith("package/data/") or not member.name.endswith(".js"):
                continue
            text = archive.extractfile(member).read().decode()
            if "type: 'programming'" not in text:
                continue
            name = re.search(r"""name: (['"])(.*?)\1,""", text).group(2).replace("\\'", "'")
            aliases = re.search(r"aliases: \[([^\]]*)\]", text)
            rows.append({
                "name": name,
                "aliases": [alias for _, alias in re.findall(r"""(['"])(.+?)\1""", aliases.group(1))] if aliases else [],
                "ecosystem": "language", "weight": 0,
                "source": f"npm:linguist-languages/{member.name.rsplit('/', 1)[1]}",
            })
    return rows


def npm_pack(package: str, work: Path) -> tarfile.TarFile:
    """Download an npm package's tarball into `work` and open it."""
    subprocess.run(["npm", "pack", "-q", package, "--pack-destination", str(work)], check=True,
                   stdout=subprocess.DEVNULL)
    return tarfile.open(next(work.glob(f"{package}-*.tgz")))


def brand_rows(work: Path, mentioned: str) -> list[dict]:
    """Software brands from simple-icons: those whose logo is kept in a code repository, or
    that Debian's package descriptions (`mentioned`, lower-cased) name. That leaves out
    cars, shops and airlines."""
    with npm_pack("simple-icons", work) as archive:
        icons = json.load(archive.extractfile("package/data/simple-icons.json"))
    rows = []
    for icon in icons:
        title, source = icon["title"], icon.get("source", "")
        in_code = any(host in source for host in ("github.com", "gitlab.com", "codeberg.org"))
        if not in_code and not re.search(rf"(?<![\w-]){re.escape(title.lower())}(?![\w-])", mentioned):
            continue
        aliases = icon.get("aliases", {})
        rows.append({
            "name": title, "aliases": [name for name in aliases.get("aka", []) if name.lower() != title.lower()],
            "ecosystem": "brand", "weight": 0, "source": f"npm:simple-icons/{icon['slug']}",
        })
    return rows


def npm_rows(work: Path, count: int = 3000) -> list[dict]:
    """The `count` most downloaded npm packages, from npm-high-impact."""
    with npm_pack("npm-high-impact", work) as archive:
        text = archive.extractfile("package/lib/top-download.js").read().decode()
    names = re.findall(r"'([^']+)'", text)[:count]
    return [
        {"name": name, "aliases": [], "ecosystem": "npm", "weight": count - rank,
         "source": "npm:npm-high-impact/top-download"}
        for rank, name in enumerate(names)
    ]


def build(cache: Path) -> list[dict]:
    """All rows, deduplicated by name, most used first."""
    debian, packages = debian_rows(cache)
    dictionary = words(packages, cache)
    common_nouns = lower_case_words(packages, cache)
    python = [row for row in debian if row["ecosystem"] == "pypi"]
    with ThreadPoolExecutor(16) as pool:
        spellings = list(pool.map(lambda row: pypi_name(row["name"], cache), python))
    for row, spelling in zip(python, spellings):
        row["display"] = spelling
    mentioned = "\n".join(row["description"] for row in debian).lower()
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as work:
        for row in brand_rows(Path(work), mentioned):  # first: their spelling is the brand's own
            if not generic(row["name"]):
                rows.setdefault(row["name"].lower(), row)
        extra = (
            npm_rows(Path(work)) + botocore_rows(Path(work)) + google_rows(Path(work))
            + linguist_rows(Path(work))
        )
    for row in sorted(debian, key=lambda row: (-row["weight"], row["name"])):
        if row["ecosystem"] == "pypi":
            if not row.get("display"):
                continue  # Debian's name is not the PyPI project's
            name = row["display"]
        else:
            name = display_spelling(row["name"], row["description"])
        if generic(name):
            continue
        if row["ecosystem"] == "go" and len(name) <= 3:
            continue  # golang.org/x/sys, /net, /text: the repository's name is not the module's
        rows.setdefault(name.lower(), {**row, "name": name, "aliases": []})
    for row in extra:
        if not generic(row["name"]):
            rows.setdefault(row["name"].lower(), row)
    for row in rows.values():
        row["aliases"] = [
            alias for alias in row.get("aliases", [])
            if len(alias) > 3 and alias.lower() not in dictionary and not generic(alias)
        ]
        parts = re.split(r"[-_.\s/@]+", row["name"].lower().strip("@"))
        row["common"] = int(
            len(row["name"]) <= 3 or row["name"].lower() in dictionary or row["name"].lower() in common_nouns
            or (row["ecosystem"] not in ("aws", "google") and all(
                part in dictionary or part in TECH_WORDS or part in GENERIC for part in parts))
        )
    return sorted(rows.values(), key=lambda row: (row["ecosystem"], -row["weight"], row["name"].lower()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("var/gazetteer-cache"),
                        help="where downloads are kept between runs (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the CSV to write (default: %(default)s)")
    options = parser.parse_args(argv)
    options.cache.mkdir(parents=True, exist_ok=True)
    rows = build(options.cache)
    with options.output.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "aliases": "|".join(row.get("aliases", []))})
    print(f"{options.output}: {len(rows)} names", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
