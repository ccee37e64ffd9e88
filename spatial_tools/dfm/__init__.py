"""Design-for-manufacturing checks: findings, process profiles, the rule registry and the engine."""
