"""`python -m familybot_trio.sandbox [--seed N] [--latency-ms MS]`: serve until Ctrl-C."""

from __future__ import annotations

import argparse
import logging

import trio

from familybot_trio.sandbox import Sandbox


async def _main(seed: int, latency_ms: float) -> None:
    async with trio.open_nursery() as nursery:
        sandbox: Sandbox = await nursery.start(Sandbox(seed=seed, latency_ms=latency_ms).serve)
        for name, url in sandbox.urls.items():
            print(f"{name:13} {url}")
        fam = sandbox.family
        print(f"family_groupid {fam.family_groupid}; members: "
              + ", ".join(f"{m.persona}={m.steamid}" for m in fam.members))
        print(f"api key: {sandbox.api_key}   itad key: {sandbox.itad_key}")
        print(f"access token (member 1, 24 h): {sandbox.access_token}")
        print("Ctrl-C to stop", flush=True)


def main() -> None:
    """Parse arguments and serve the sandbox until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    try:
        trio.run(_main, args.seed, args.latency_ms)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
