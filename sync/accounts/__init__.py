"""Who may use the admin UI and API, and how they prove it (SPEC §8).

``passwords`` (argon2id hashing), ``secrets`` (session cookies, CSRF and API tokens:
random, stored only as hashes), ``service`` (adding, disabling, re-keying users and
issuing tokens, each recorded in the audit trail), ``login`` (sign-in, throttled by
``throttle``: a growing wait per account, a cap per client address, never a lockout),
``invites`` (one-time links that bring a person into a clinic), ``resets`` (one-time
links that set a forgotten password) and ``mail`` (their e-mails, over the notifier's
SMTP client).
"""
