"""Which of the 13 categories a complaint belongs to: a small text classifier, trained at start-up.

scikit-learn: TF-IDF over character n-grams (robust to typos and texting) and words, both of the
normalised text (bot/texting.py), into a logistic-loss linear model. It learns from
bot/data/category_examples.yml (never from the held-out set in tests/nlu/) in well under a second.

A turn asks for the same text's probabilities more than once (the confident guess, then the
options), and one prediction costs ~10 ms of scikit-learn overhead plus time that grows with the
text (0.2 s for 16,000 characters): the model reads the first ``MAX_CHARS`` characters, where a
complaint says what it is about, and the last few answers are kept.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import FeatureUnion, make_pipeline

from bot.texting import normalize
from storage.models import Category

EXAMPLES = Path(__file__).parent / "data" / "category_examples.yml"
MAX_CHARS = 1000


def training_examples(path: Path = EXAMPLES) -> tuple[list[str], list[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    texts, labels = [], []
    for slug, examples in data.items():
        Category(slug)  # a typo in the data file fails loudly
        texts.extend(examples)
        labels.extend([slug] * len(examples))
    return texts, labels


@lru_cache(maxsize=1)
def model():
    texts, labels = training_examples()
    features = FeatureUnion(
        [
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, preprocessor=normalize)),
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, preprocessor=normalize)),
        ]
    )
    # Logistic loss by SGD: as accurate as the exact solver on this data (5-fold CV), ten times faster to fit.
    classifier = make_pipeline(features, SGDClassifier(loss="log_loss", alpha=1e-4, max_iter=50, random_state=0))
    classifier.fit(texts, labels)
    return classifier


def probabilities(text: str) -> list[tuple[Category, float]]:
    """Every category with its probability for this text, most likely first."""
    return list(_probabilities(text[:MAX_CHARS]))


@lru_cache(maxsize=256)
def _probabilities(text: str) -> tuple[tuple[Category, float], ...]:
    classifier = model()
    scores = classifier.predict_proba([text])[0]
    ranked = sorted(zip(classifier.classes_, scores), key=lambda item: -item[1])
    return tuple((Category(slug), float(score)) for slug, score in ranked)
