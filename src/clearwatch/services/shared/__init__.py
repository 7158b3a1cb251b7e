"""Ports every area's services share: the clock, the audit log, the stores."""
