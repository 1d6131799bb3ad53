"""What every service shares to keep people's data safe: the tamper-evident audit chain,
encryption at rest and key derivation, and password hashing. Below `cases` and `platform`;
imports nothing of theirs."""
