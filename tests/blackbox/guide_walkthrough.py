"""The last step of docs/guides/self-hosting.md, as a new user does it: open the setup link and
choose a password, then on an agent's machine run authsome 0.7.2's `onboard` and claim the agent
in the browser. The agent talks to one replica, the person to the other.

Usage: guide_walkthrough.py SETUP_LINK AGENT_BASE_URL   (run with the reference venv's Python)
"""

import json
import sys
import urllib.parse

from harness import Browser, Cli, read_until


class _Server:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url


def main(setup_link: str, agent_base_url: str) -> None:
    parts = urllib.parse.urlsplit(setup_link)
    person_base_url = f"{parts.scheme}://{parts.netloc}"
    setup = urllib.parse.parse_qs(parts.query)["setup"][0]
    person = Browser(person_base_url)
    signed_up = person.sign_up("you@example.com", "the administrator's passphrase", setup=setup)
    assert signed_up.status_code == 303 and signed_up.headers["location"] == "/", signed_up.text
    print(f"set the password through {person_base_url}/login?setup=...")

    cli = Cli(_Server(agent_base_url))
    try:
        onboarding = cli.start("onboard")
        claim_url, _ = read_until(onboarding.stderr, r"http://\S+/claim\?token=\S+")
        print(f"authsome onboard (against {agent_base_url}) printed a claim link")
        confirmed = person.confirm_claim(claim_url)
        assert confirmed.status_code == 303, confirmed.text
        stdout, stderr = onboarding.communicate(timeout=120)
        assert onboarding.returncode == 0, stderr
        agent = json.loads(stdout)["agent"]
        me = cli.json("whoami")
        assert me["agent"] == agent and me["vault_status"] == "OK", me
        print(f"claimed agent {agent} in the browser; authsome whoami: principal {me['principal_id']}, vault {me['vault_id']}")
    finally:
        cli.cleanup()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
