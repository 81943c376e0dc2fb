"""The events sensor's cursor: how far the event log has been read, as small JSON.

It records the time polled through, not the newest event: on a quiet account the newest event
can be weeks old while the sensor is perfectly up to date, and the 30-day guard must not fire.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import dagster as dg

from stripe_assets.automation.waiting_runs import Relied

CURSOR_VERSION = 1


class CursorError(ValueError):
    """A stored cursor that this code cannot read; the message says how to recover."""


@dataclass(frozen=True)
class EventsCursor:
    # Every event created before this Unix second was routed (late arrivals within the overlap
    # are caught by re-reading the last few minutes on the next tick).
    through: int
    # Ids of events already routed that the next tick's overlap will read again.
    seen: tuple[str, ...] = ()
    # [lo, hi) windows of older events not read yet because a tick hit its page budget.
    backlog: tuple[tuple[int, int], ...] = ()
    # Refreshes left out because a waiting run covers them, until that run starts.
    relied: tuple[Relied, ...] = ()

    def oldest_unread(self, overlap_seconds: int) -> int:
        """The oldest moment whose events the next tick still has to read."""
        return min([self.through - overlap_seconds, *(lo for lo, _ in self.backlog)])

    def to_json(self) -> str:
        payload: dict[str, object] = {"v": CURSOR_VERSION, "through": self.through}
        if self.seen:
            payload["seen"] = list(self.seen)
        if self.backlog:
            payload["backlog"] = [list(w) for w in self.backlog]
        if self.relied:
            payload["relied"] = [
                [r.run_id, r.asset.to_user_string(), *(r.span or (None, None))]
                for r in self.relied
            ]
        return json.dumps(payload, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | None) -> EventsCursor | None:
        """None for a sensor that never ticked (no cursor yet)."""
        if not raw:
            return None
        try:
            payload = json.loads(raw)
            if payload.get("v") != CURSOR_VERSION:
                raise ValueError(f"unknown version {payload.get('v')!r}")
            return cls(
                through=int(payload["through"]),
                seen=tuple(str(i) for i in payload.get("seen", ())),
                backlog=tuple((int(lo), int(hi)) for lo, hi in payload.get("backlog", ())),
                relied=tuple(
                    Relied(str(run_id), dg.AssetKey.from_user_string(str(asset)),
                           (str(first), str(last)) if first and last else None)
                    for run_id, asset, first, last in payload.get("relied", ())
                ),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CursorError(
                f"The stripe_events_sensor cursor {raw[:200]!r} cannot be read ({exc}). Set "
                "it on the sensor's page in the UI (edit the cursor) to "
                '{"v":1,"through":<Unix time to read events from>}, or clear it to start '
                "watching from now."
            ) from None
