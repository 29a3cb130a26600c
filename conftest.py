import os

pytest_plugins = ["eventonight.hooks.testing"]

# Every test client calls from 127.0.0.1, so the per-address limits of logins, registrations and
# refreshes would throttle the suite itself; tests of those limits set their own rates.
for _name in ("LOGIN", "REGISTER", "REFRESH"):
    os.environ.setdefault(f"EVENTONIGHT_USERS_{_name}_RATE_PER_CLIENT", "100000/1")
