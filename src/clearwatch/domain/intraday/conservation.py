"""Conservation: what all nodes may spend for a client never exceeds the central books.

Σ over nodes of each client's claim (cash available + frozen − today's sale proceeds; shares
available + frozen) must not exceed what the central books hold available for the client. A
breach is evidence of phantom money: the client's trading stops and an alert carries the figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from clearwatch.domain.shared.kinds import CASH


@dataclass(frozen=True)
class NodeClaim:
    node_id: str
    fund_account: str
    asset: str  # CASH or a security such as SH.600000
    quantity: int  # fen for CASH, shares otherwise


@dataclass(frozen=True)
class Breach:
    fund_account: str
    asset: str
    central_quantity: int
    nodes_quantity: int
    by_node: Mapping[str, int] = field(default_factory=dict)

    @property
    def excess(self) -> int:
        return self.nodes_quantity - self.central_quantity

    def evidence(self) -> dict[str, object]:
        return {
            "fund_account": self.fund_account,
            "asset": self.asset,
            "central": self.central_quantity,
            "nodes_total": self.nodes_quantity,
            "excess": self.excess,
            "by_node": dict(sorted(self.by_node.items())),
            "unit": "fen" if self.asset == CASH else "shares",
        }


def find_breaches(
    claims: Iterable[NodeClaim], central: Mapping[tuple[str, str], int]
) -> list[Breach]:
    """Every (client, asset) whose claims across nodes exceed the central figure (absent = 0)."""
    totals: dict[tuple[str, str], dict[str, int]] = {}
    for claim in claims:
        by_node = totals.setdefault((claim.fund_account, claim.asset), {})
        by_node[claim.node_id] = by_node.get(claim.node_id, 0) + claim.quantity
    breaches = []
    for (fund_account, asset), by_node in sorted(totals.items()):
        nodes_total = sum(by_node.values())
        central_quantity = central.get((fund_account, asset), 0)
        if nodes_total > central_quantity:
            breaches.append(Breach(fund_account, asset, central_quantity, nodes_total, by_node))
    return breaches
