"""`opsmedic token new PERSON`: a personal HTTP credential for approvals and reads.

The token is printed once and never stored; the settings keep only its sha256 beside the person.
"""

from __future__ import annotations

import argparse
import json

from agent.credentials import new_token, token_hash


def register(sub: argparse._SubParsersAction) -> None:
    token = sub.add_parser("token", help="make a personal HTTP credential (approvals over the API)")
    tsub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    new = tsub.add_parser("new", help="a fresh token for PERSON; prints it and the api_tokens entry")
    new.add_argument("person", help="who the token belongs to: the Slack user id the policies name (U012ABC)")
    new.set_defaults(func=cmd_new)


def cmd_new(args: argparse.Namespace) -> int:
    person = args.person.strip()
    if not person:
        print("opsmedic: the person must not be empty", flush=True)
        return 2
    token = new_token()
    digest = token_hash(token)
    print(f"token for {person} (shown once; give it to them, keep it nowhere else):\n  {token}\n")
    print("add to the settings file under api_tokens:")
    print(f"  api_tokens:\n    {digest}: {json.dumps(person)}")
    print("or, merged into OPSMEDIC_API_TOKENS (JSON):")
    print(f"  {json.dumps({digest: person})}")
    return 0
