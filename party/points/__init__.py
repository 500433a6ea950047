"""The points ledger (积分考核): rules, the append-only ledger, disputes."""
