"""`python -m bridge setup`: prepare a Rocket.Chat server for the bridge, once.

IT runs this after the stack is up (docs/deployment.md). Every step prints exactly one line,
`ok`, `changed`, `skipped`, `would change`, `WARNING` or `FAILED: reason`, so the output can
be pasted into a ticket as it is. Secrets never reach the output: every line is scrubbed of
the tokens and passwords this command knows about.

It uses the synchronous `rocketchat_API` client on purpose: this is a one-off admin command,
not the daemon, whose async client lives in bridge/rocketchat/. The library lacks the
Omnichannel admin endpoints, so those go through its generic `call_api_get`/`call_api_post`.
Facts about the endpoints are in shared/contracts/rocketchat-omnichannel.md (§3.2, §3.6,
§3.7, §1.4).

Modules, by role: `command` runs the steps in order; `login` logs in and out; `checks`
reads the version, Omnichannel and rate-limiter state; `departments` and `webhook` make
the configuration match; `report` prints the lines; `errors` turns failures into them.
The admin password comes only from the environment (`ADMIN_PASSWORD_ENV`), never argv.
"""

from __future__ import annotations

from bridge.provision.command import run_setup
from bridge.provision.login import ADMIN_PASSWORD_ENV

__all__ = ["ADMIN_PASSWORD_ENV", "run_setup"]
