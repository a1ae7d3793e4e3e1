"""Which words name a target's category: the name, its synonyms, their plurals.

Used twice: a rephrasing that names its target's category is rejected (InsTrack
instructions point at the target implicitly), and the report measures the share
of instructions that do. Matching is on whole words, so "dog" does not match
"dogma", while "dog's" and "dog-like" do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from instrack.errors import UsageError

# Synonyms of the categories of DAVIS, YouTube-VOS, MeViS and VIPSeg targets, for
# the common cases; extend per dataset with a JSON file ({"category": [words]}).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "person": ("people", "man", "woman", "boy", "girl", "child", "kid", "human", "guy",
               "lady", "gentleman", "baby", "toddler", "adult", "teenager"),
    "dog": ("puppy", "pup", "hound", "canine", "doggy", "doggo"),
    "cat": ("kitten", "kitty", "feline"),
    "horse": ("pony", "stallion", "mare", "foal", "steed"),
    "cow": ("cattle", "calf", "bull", "ox"),
    "sheep": ("lamb", "ram", "ewe"),
    "bird": ("birdie", "fowl"),
    "car": ("automobile", "sedan", "auto"),
    "bicycle": ("bike", "cycle"),
    "bike": ("bicycle", "cycle"),
    "motorcycle": ("motorbike", "motorcyle"),
    "motorbike": ("motorcycle",),
    "airplane": ("aeroplane", "plane", "aircraft", "jet", "airliner"),
    "boat": ("ship", "vessel", "sailboat", "canoe", "kayak"),
    "truck": ("lorry",),
    "rabbit": ("bunny", "hare"),
    "monkey": ("ape", "chimp", "chimpanzee"),
    "ape": ("monkey", "gorilla", "chimpanzee"),
    "duck": ("duckling",),
    "fish": ("goldfish",),
    "deer": ("stag", "fawn", "doe"),
    "pig": ("hog", "piglet", "swine"),
    "goat": ("kid",),
    "chicken": ("hen", "rooster", "chick"),
    "bear": ("cub",),
    "lion": ("lioness", "cub"),
    "tiger": ("cub",),
    "mouse": ("rat",),
    "ball": ("football", "basketball", "soccerball"),
    "sedan": ("car",),
}
# Plurals that no suffix rule produces.
IRREGULAR_PLURALS: dict[str, str] = {
    "person": "people", "man": "men", "woman": "women", "child": "children",
    "mouse": "mice", "goose": "geese", "foot": "feet", "tooth": "teeth", "ox": "oxen",
    "gentleman": "gentlemen", "sheep": "sheep", "deer": "deer", "fish": "fish",
    "cattle": "cattle", "people": "people", "aircraft": "aircraft", "moose": "moose",
}
_WORD = re.compile(r"[a-z0-9]+")
# Words of a multi-word category name that name nothing on their own.
FUNCTION_WORDS = frozenset({"a", "an", "the", "of", "and", "or", "with", "on", "in", "for", "to", "at", "by",
                            "from", "other", "thing", "object", "stuff"})


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def plurals(word: str) -> set[str]:
    """Every plausible plural of one English noun (a superset errs on rejecting)."""
    if word in IRREGULAR_PLURALS:
        return {IRREGULAR_PLURALS[word]}
    out = {word + "s"}
    if re.search(r"(s|x|z|ch|sh|o)$", word):
        out.add(word + "es")
    if re.search(r"[^aeiou]y$", word):
        out.add(word[:-1] + "ies")
    if word.endswith("f"):
        out.add(word[:-1] + "ves")
    if word.endswith("fe"):
        out.add(word[:-2] + "ves")
    return out


def load_synonyms(path: str | Path | None) -> dict[str, tuple[str, ...]]:
    """The built-in table, extended (not replaced) by a JSON file if given."""
    table = dict(SYNONYMS)
    if path is None:
        return table
    path = Path(path)
    try:
        extra = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:  # json.JSONDecodeError is a ValueError
        raise UsageError(f"{path}: cannot read the synonyms file ({' '.join(str(err).split())[:200]})") from err
    except RecursionError:
        raise UsageError(f"{path}: cannot read the synonyms file (nested too deeply)") from None
    if not isinstance(extra, dict) or not all(
        isinstance(v, list) and all(isinstance(w, str) for w in v) for v in extra.values()
    ):
        raise UsageError(f'{path}: expected {{"category": ["synonym", ...], ...}}')
    for category, more in extra.items():
        key = normalise(category)
        table[key] = tuple(dict.fromkeys(table.get(key, ()) + tuple(m.lower() for m in more)))
    return table


def normalise(category: str) -> str:
    """"Sports_ball" -> "sports ball": dataset category names use _ and - for spaces."""
    return " ".join(words(category.replace("_", " ").replace("-", " ")))


def category_terms(category: str, synonyms: dict[str, tuple[str, ...]] | None = None) -> tuple[str, ...]:
    """Every phrase that names `category`: the name, synonyms, and their plurals."""
    table = SYNONYMS if synonyms is None else synonyms
    name = normalise(category)
    if not name:
        return ()
    base = [name, *table.get(name, ())]
    # A name of several words is named by each of its content words too, with their
    # synonyms: for "fiskars scissors", "the scissors" names the target.
    for phrase in list(base):
        for word in words(phrase):
            if len(words(phrase)) > 1 and word not in FUNCTION_WORDS:
                base += [word, *table.get(word, ())]
    terms: set[str] = set()
    for phrase in base:
        parts = words(phrase)
        if not parts:
            continue
        terms.add(" ".join(parts))
        for plural in plurals(parts[-1]):
            terms.add(" ".join(parts[:-1] + [plural]))
    return tuple(sorted(terms))


def names_category(text: str, terms: tuple[str, ...]) -> str | None:
    """The longest term that occurs in `text` as whole words, or None."""
    tokens = words(text)
    padded = " " + " ".join(tokens) + " "
    for term in sorted(terms, key=lambda t: (-len(t.split()), -len(t), t)):
        if f" {term} " in padded:
            return term
    return None
