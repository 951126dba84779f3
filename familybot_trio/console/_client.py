"""`connect`: the console's client, a plain blocking relay between a terminal and the socket."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import TextIO


def connect(path: Path | str, *, stdin: TextIO | None = None,
            stdout: TextIO | None = None) -> int:
    """The console client: relay lines between a terminal and `serve_console` (blocking).

    Plain sync socket code, because it runs in its own process (`familybot-trio console`),
    never inside the bot's loop. A tty stdin gets `input()` with line editing; Ctrl-C sends
    an interrupt (cancels the running statement) instead of quitting; EOF (Ctrl-D) quits.

    Args: path: the console socket; stdin/stdout: default sys.stdin/sys.stdout.
    Returns: 0 when the session ended normally, 1 when the bot refused or vanished.
    Raises: OSError (FileNotFoundError / ConnectionRefusedError) when no bot listens.
    """
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    tty = stdin is sys.stdin and stdin.isatty()

    def read_line(prompt: str) -> str | None:
        if tty:  # input() gives line editing and history
            try:
                return input(prompt)
            except EOFError:
                return None
        stdout.write(prompt)
        stdout.flush()
        line = stdin.readline()
        return line.rstrip("\n") if line else None

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(path))
        reader = sock.makefile("r", encoding="utf-8", newline="\n")

        def send(msg: dict[str, object]) -> None:
            sock.sendall(json.dumps(msg).encode() + b"\n")

        while True:
            try:
                raw = reader.readline()
                if not raw:
                    stdout.write("\nthe bot closed the console\n")
                    return 1
                msg = json.loads(raw)
                if "out" in msg:
                    stdout.write(msg["out"])
                    stdout.flush()
                elif "bye" in msg:
                    return 0 if msg["bye"] == "bye" else 1
                elif "prompt" in msg:
                    line = read_line(msg["prompt"])
                    if line is None:
                        return 0
                    send({"line": line})
            except KeyboardInterrupt:
                stdout.write("\n")
                send({"interrupt": True})


__all__ = ["connect"]
