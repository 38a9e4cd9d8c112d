"""Who may use the admin UI and API, and how they prove it (SPEC §8).

``passwords`` (argon2id hashing), ``secrets`` (session cookies, CSRF and API tokens:
random, stored only as hashes), ``service`` (adding, disabling, re-keying users and
issuing tokens, each recorded in the audit trail) and ``login`` (sign-in with rate
limiting per account and per client address).
"""
