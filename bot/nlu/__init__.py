"""Understanding Vietnamese typed with or without diacritics, abbreviations and typos.

``normalize``/``fold`` give the display and diacritic-free forms; ``load_lexicon`` reads the
abbreviations, synonyms and stop words under ``content/nlu/``; ``Index`` searches
``SearchDocument`` phrases; ``Understanding`` decides between answering and offering choices.
"""

from bot.nlu.index import Index, Match, SearchDocument
from bot.nlu.lexicon import Lexicon, Token, check_lexicon, load_lexicon
from bot.nlu.normalize import fold, normalize
from bot.nlu.understanding import DEFAULT_THRESHOLD, Answer, Understanding

__all__ = [
    "DEFAULT_THRESHOLD",
    "Answer",
    "Index",
    "Lexicon",
    "Match",
    "SearchDocument",
    "Token",
    "Understanding",
    "check_lexicon",
    "fold",
    "load_lexicon",
    "normalize",
]
