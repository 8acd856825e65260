"""Progress: a tqdm bar of unique evaluations with the front size and hypervolume."""
from __future__ import annotations

import sys
from typing import Any, Dict, Optional


class Progress:
    def __init__(self, total: Optional[int], enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.bar = None

    def start(self, done: int, stats: Dict[str, Any]) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        self.bar = tqdm(total=self.total, initial=done, unit="eval", file=sys.stderr,
                        dynamic_ncols=True, desc="search")
        self._post(stats)

    def _post(self, stats: Dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar.set_postfix(front=stats["front"], hv=f"{stats['hv']:.4f}", refresh=False)

    def update(self, done: int, stats: Dict[str, Any]) -> None:
        if self.bar is not None:
            if done > self.bar.n and self.bar.desc != "search":  # a generator's note ends with its work
                self.bar.set_description_str("search", refresh=False)
            self.bar.update(done - self.bar.n)
            self._post(stats)

    def note(self, message: str) -> None:
        """A status line from a generator (e.g. supernet training epochs)."""
        if self.bar is not None:
            self.bar.set_description_str(message[:60])
        elif self.enabled:
            print(message, file=sys.stderr)

    def close(self, reason: Optional[str]) -> None:
        """Close the bar; the caller reports ``reason`` (the CLI prints it once, in its summary)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
