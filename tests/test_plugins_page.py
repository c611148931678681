"""docs/plugins.md lists every method of every Protocol a backend author implements, and no
method a Protocol does not have: the page cannot drift from socialfeed.interfaces."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from socialfeed import interfaces
from socialfeed.jobs import JobHandler

PAGE = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
CORE = [
    "TweetStore",
    "FollowGraph",
    "FeedCache",
    "MediaStore",
    "MediaWriter",
    "FanoutQueue",
    "FeedStrategy",
    "FromURL",
    "JobHandler",
]
ABILITIES = [
    "HomeTimelineSupport",
    "FollowerCountSupport",
    "FanoutGraphSupport",
    "FeedReadSupport",
    "FanoutBatchSupport",
    "FeedNoticeSupport",
    "UploadSweepSupport",
    "QueueStatsSupport",
    "DeadLetterSupport",
    "Outbox",
    "DurableTweetSupport",
    "DurableFollowSupport",
    "PrimarySupport",
    "SettingsRecordSupport",
    "MediaClaimSupport",
    "WorkerIdLeaseSupport",
    "SocialStore",
]


def _protocol(name: str) -> type:
    found: type = JobHandler if name == "JobHandler" else getattr(interfaces, name)
    return found


def _members(protocol: type) -> set[str]:
    """The protocol's own methods and attributes (not those of the Protocols it extends)."""
    own = {n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")}
    return own | set(vars(protocol).get("__annotations__", {}))


def _sections() -> dict[str, str]:
    parts = re.split(r"^### (.+)$", PAGE.read_text(), flags=re.M)
    pairs = zip(parts[1::2], parts[2::2], strict=True)
    return {title.strip(): body.split("\n## ")[0] for title, body in pairs}


def test_every_ability_protocol_is_checked() -> None:
    everything = {n for n in interfaces.__all__ if n.endswith("Support")} | {"Outbox"}
    assert everything | {"SocialStore"} == set(ABILITIES)


@pytest.mark.parametrize("name", CORE)
def test_core_protocol_table(name: str) -> None:
    body = _sections()[f"`{name}`"]
    listed = set(re.findall(r"^\| `(\w+)", body, re.M)) - {"method"}
    assert listed == _members(_protocol(name)), f"the `{name}` table of docs/plugins.md"


def test_ability_table() -> None:
    body = _sections()["Optional abilities, method by method"]
    listed: dict[str, set[str]] = {}
    for ability, method in re.findall(r"^\| `(\w+)` \| `(\w+)\(", body, re.M):
        listed.setdefault(ability, set()).add(method)
    expected = {name: _members(_protocol(name)) for name in ABILITIES}
    assert listed == expected
