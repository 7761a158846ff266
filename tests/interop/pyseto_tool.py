"""Mint and open PASETO v4 tokens with pyseto, an independent implementation.

Usage:
  pyseto_tool.py encode PURPOSE KEY PAYLOAD_JSON FOOTER [IMPLICIT]  -> prints the token ('' = no footer)
  pyseto_tool.py decode PURPOSE KEY TOKEN [IMPLICIT]                 -> prints {"payload": ..., "footer": ...}

KEY is a PASERK string or a PEM block. Exits 1 with a message on stderr when pyseto rejects.
"""

import json
import sys

import pyseto
from pyseto import Key


def load_key(purpose: str, key: str):
    if key.startswith("k4."):
        return Key.from_paserk(key)
    return Key.new(version=4, purpose=purpose, key=key.encode())


def main() -> int:
    command, purpose, key = sys.argv[1], sys.argv[2], load_key(sys.argv[2], sys.argv[3])
    try:
        if command == "encode":
            payload = json.loads(sys.argv[4])
            footer = sys.argv[5].encode()
            implicit = sys.argv[6].encode() if len(sys.argv) > 6 else b""
            token = pyseto.encode(key, payload, footer=footer, implicit_assertion=implicit, serializer=json)
            print(token.decode())
        elif command == "decode":
            implicit = sys.argv[5].encode() if len(sys.argv) > 5 else b""
            token = pyseto.decode(key, sys.argv[4], implicit_assertion=implicit)
            footer = token.footer.decode() if token.footer else ""
            print(json.dumps({"payload": json.loads(token.payload), "footer": footer}))
        else:
            print(f"unknown command {command}", file=sys.stderr)
            return 2
    except Exception as e:  # pyseto raises several types; any of them is a rejection
        print(f"rejected: {type(e).__name__}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
