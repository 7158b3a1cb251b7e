"""Access control: users, roles, maker-checker approvals and time-bound emergency grants."""
