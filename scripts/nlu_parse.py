"""Parse texts with a trained Rasa model, in the engine's runtime (Python 3.10, rasa only).

Usage: .venv/engine/bin/python scripts/nlu_parse.py MODEL.tar.gz TEXTS.json PARSES.json
Reads a JSON list of texts; writes a JSON list of {"text", "intent", "confidence", "entities"}
(to a file: Rasa and TensorFlow print to stdout).
Used by `aduan evaluate` (bot/evaluation.py), which runs in the app's runtime.
"""

import asyncio
import json
import logging
import sys
from pathlib import Path


async def main(model_path: str, texts_path: str, out_path: str) -> None:
    from rasa.core.agent import Agent

    with open(texts_path, encoding="utf-8") as source:
        texts = json.load(source)
    agent = Agent.load(model_path)
    out = []
    for text in texts:
        parsed = await agent.parse_message(text)
        out.append(
            {
                "text": text,
                "intent": parsed["intent"]["name"],
                "confidence": parsed["intent"].get("confidence"),
                "entities": [
                    {"entity": e["entity"], "value": e["value"]} for e in parsed.get("entities", [])
                ],
            }
        )
    with open(out_path, "w", encoding="utf-8") as target:
        json.dump(out, target, ensure_ascii=False)


if __name__ == "__main__":
    # the model's custom tokenizer (bot.nlu_components) is imported from the project root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    logging.disable(logging.WARNING)
    asyncio.run(main(*sys.argv[1:4]))
