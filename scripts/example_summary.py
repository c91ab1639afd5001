"""Write the example summary for docs/: Block Kit JSON, the heatmap PNG and plain text.

    python scripts/example_summary.py [OUT_DIR]   (default: docs/)

The panel is bot.examples: System design splits the panel (Junior, Junior, Lead,
Lead: shown as "split Junior / Lead"), nobody assesses Inclusiveness, and the
recommendations split around hire / no hire.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.examples import NAMES, example_summary_data
from handlers.blocks.summary import (
    build_feedback_reply,
    build_summary,
    consensus_of,
    render_summary_text,
)
from handlers.heatmap import render_heatmap

AS_OF = datetime(2027, 3, 1, 13, 0, tzinfo=UTC)


def main(out: Path) -> None:
    data = example_summary_data()
    consensus = consensus_of(data)
    text, blocks = build_summary(data, consensus, now=AS_OF, names=NAMES, posting=True)
    thread = [build_feedback_reply(data, f) for f in data.feedback]
    out.mkdir(parents=True, exist_ok=True)
    (out / "example-summary.json").write_text(
        json.dumps(
            {
                "text": text,
                "blocks": blocks,
                "thread": [{"text": t, "blocks": b} for t, b in thread],
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    (out / "example-summary.txt").write_text(
        render_summary_text(data, consensus, names=NAMES, posting=True) + "\n", encoding="utf-8"
    )
    (out / "example-heatmap.png").write_bytes(render_heatmap(data, consensus, names=NAMES))
    print(f"wrote {out}/example-summary.json, example-summary.txt, example-heatmap.png")


if __name__ == "__main__":
    main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs"
    )
