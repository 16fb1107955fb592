"""Turning text into search tokens, the same way at write time and at query time.

Chinese runs go through jieba; everything else is split into letter/digit words, lower-cased and
stemmed (Snowball English), so "running", "runs" and "run" meet at "run".

Chinese is indexed the way Elasticsearch's IK analyser pairs ``ik_max_word`` with ``ik_smart``:

* a document gets **every dictionary word at every position** (jieba's DAG, a superset of
  ``cut_for_search``) **plus every single character**;
* a query is cut **precisely** (``cut(HMM=False)``): each of its tokens is a dictionary word or a
  single character.

So a query token that occurs anywhere in a document's text is one of the document's tokens: "穿搭"
finds "春日穿搭分享", and one-character queries ("裙") find "连衣裙", all through the index. The HMM
(new-word guessing) is off on both sides because it depends on the surrounding text, and a word
guessed in a query but not in the document (or the other way round) would silently miss.

Segmentation is versioned by :data:`VERSION`: changing the dictionary, the stop words or the rules
changes tokens, and documents written before need ``manage.py search_reindex``.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from pathlib import Path

import jieba
import snowballstemmer

VERSION = 1
USER_DICT = Path(__file__).with_name("userdict.txt")
MAX_QUERY_TOKENS = 8
MAX_QUERY_LENGTH = 100

# CJK unified ideographs (with extension A and the compatibility block).
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
_ALPHA_DIGIT = re.compile(r"[^\W\d_]+|\d+")
_SPACES = re.compile(r"\s+")

# Words too common to mean anything in a query (and not worth a posting list each).
_STOP_WORDS = """
    的 了 是 在 和 与 及 也 都 就 着 或 呢 吗 吧 啊 哦 呀 嘛 之 而
    a an and are as at be but by for from in into is it its of on or so that the this to was with
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())

_lock = threading.Lock()
_stemmer_local = threading.local()


_loaded: list[jieba.Tokenizer] = []


def _tokenizer() -> jieba.Tokenizer:
    """jieba with our dictionary, loaded once per process (about a second; the prefix dictionary is
    cached by jieba in the temp directory). Threads arriving while it loads wait for that one load
    instead of each starting their own."""
    if not _loaded:
        with _lock:
            if not _loaded:
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                tokenizer.load_userdict(str(USER_DICT))
                _loaded.append(tokenizer)
    return _loaded[0]


def _stem(word: str) -> str:
    # Snowball stemmers keep state between calls: one per thread.
    stemmer = getattr(_stemmer_local, "stemmer", None)
    if stemmer is None:
        stemmer = _stemmer_local.stemmer = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, single spaces: the form queries are stored in."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text or "").lower()).strip()


def _word_tokens(word: str, *, index: bool) -> list[str]:
    """A run of letters/digits: stemmed when it is letters only. At write time "iphone15" also
    gives "iphone" and "15", so "iphone 15" finds it; a query keeps the run whole."""
    parts = _ALPHA_DIGIT.findall(word)
    if len(parts) == 1:
        return [_stem(word) if not word.isdigit() else word]
    tokens = [word]
    if index:
        tokens += [_stem(p) if not p.isdigit() else p for p in parts]
    return tokens


def index_tokens(*texts: str) -> list[str]:
    """Every token of ``texts`` in order of appearance (repeats kept: they weigh in the ranking)."""
    tokenizer = _tokenizer()
    tokens: list[str] = []
    for text in texts:
        for cjk, word in _RUNS.findall(normalize(text)):
            if word:
                tokens += _word_tokens(word, index=True)
                continue
            dag = tokenizer.get_DAG(cjk)
            for start, ends in dag.items():
                tokens.append(cjk[start])
                tokens += [cjk[start : end + 1] for end in ends if end > start]
    return [t for t in tokens if t not in STOP_WORDS]


def query_tokens(text: str) -> list[str]:
    """The distinct tokens a query must all match (at most ``MAX_QUERY_TOKENS``); may be empty."""
    tokenizer = _tokenizer()
    tokens: list[str] = []
    for cjk, word in _RUNS.findall(normalize(text)[:MAX_QUERY_LENGTH]):
        if word:
            tokens += _word_tokens(word, index=False)
        else:
            tokens += tokenizer.lcut(cjk, HMM=False)
    unique = dict.fromkeys(t for t in tokens if t and t not in STOP_WORDS)
    return list(unique)[:MAX_QUERY_TOKENS]


def warm_up() -> None:
    """Load the dictionary now (about a second) rather than in the first search or index task of a
    process: called when a web server loads the app and when a Celery worker process starts
    (``config.warm``)."""
    _tokenizer()
