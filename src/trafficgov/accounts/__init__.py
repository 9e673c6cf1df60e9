"""账户与机构 — organisations (bureau units, partner departments), accounts, roles, passwords, tokens."""
