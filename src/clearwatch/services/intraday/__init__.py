"""Use cases of intraday fund control: trading nodes, leases, conservation."""
