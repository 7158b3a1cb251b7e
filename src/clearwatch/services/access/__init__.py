"""Use cases of access control: users, roles, maker-checker approvals, grants."""
