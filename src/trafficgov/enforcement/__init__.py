"""执法 — enforcement: cases, the pure decision engine and its batch command."""
