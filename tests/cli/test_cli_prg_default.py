"""With no PRG mode given, the `prio` pipeline speaks what Firefox and prio-processor's published
fixtures speak (libprio <= 1.6's raw keys): it reproduces those fixtures byte for byte."""

from __future__ import annotations

import json

from tests.cli.servers import PROCESSOR, run_pipeline


class NoModeGiven:
    """The fixture servers' options, minus --prg-mode (PRG_MODE is unset by the runner)."""

    def server_args(self, server: str) -> list[str]:
        args = PROCESSOR.server_args(server)
        at = args.index("--prg-mode")
        return args[:at] + args[at + 2:]


def test_pipeline_without_a_prg_mode_reproduces_prio_processor_fixtures(invoke, tmp_path):
    raw = {server: PROCESSOR.raw(server) for server in "AB"}
    outputs = run_pipeline(invoke, NoModeGiven(), raw, tmp_path)
    for server in "AB":
        for step in ("verify1", "verify2", "aggregate"):
            expected = PROCESSOR.intermediate(server, "internal", step).read_bytes()
            assert outputs[server, step][0].read_bytes() == expected, (server, step)
        published = json.loads(outputs[server, "publish"][0].read_text())
        assert published["payload"] == [5, 4, 3, 2, 1]
