"""A stand-in for the ``rasa`` package (tests only): ``python -m rasa`` / ``rasa.__main__.main``.

Put ``tests/fakes/engine`` first on PYTHONPATH of the engine's Python and ``aduan run`` starts this
instead of Rasa: it starts in a moment and answers what the app asks of the engine. See
``tests/fakes/fake_engine.py`` for the wrapper scripts that do so.
"""
