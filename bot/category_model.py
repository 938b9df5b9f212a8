"""Which of the 13 categories a complaint belongs to: a small text classifier, trained at start-up.

scikit-learn: TF-IDF over character n-grams (robust to typos and texting) and words, both of the
normalised text (bot/texting.py), into a logistic-loss linear model. It learns from
bot/data/category_examples.yml (never from the held-out set in tests/nlu/) in well under a second.
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
    classifier = model()
    scores = classifier.predict_proba([text])[0]
    ranked = sorted(zip(classifier.classes_, scores), key=lambda item: -item[1])
    return [(Category(slug), float(score)) for slug, score in ranked]
