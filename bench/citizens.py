"""Citizens filing petitions at once, against the petition bot and against a bare PTB echo bot.

    python3 bench/citizens.py [--citizens 200] [--send-rate 25]

N simulated citizens file a complete petition each, all at the same time, through the real HTTP
stack: the bot (built by `bot.app`, SQLite file in a temp dir) runs in a process of its own and
long-polls the Bot API stand-in in this process. Each citizen answers every prompt as soon as it
arrives (no thinking time) — 16 actions from /new to Submit, typed texts and button presses.

How it is measured, so that the figures are the bot's and not the driver's: citizens act on the
stand-in's world directly, building exactly the updates its control API builds (no HTTP round
trip and no polling for the driver), and a hook on the world's `emit` wakes a citizen the moment
the bot's reply is stored in their chat. A reply's latency runs from injecting the update to
that moment: the bot's long poll, its handling, and its Bot API call. The reply waited for is
the one the citizen needs next (the prompt with the next button, or a new message before typing);
for Submit it is the bot's first answer (taking the buttons off). The receipt itself comes through
the outbox, so its latency is shown apart. CPU is the bot process's own (from /proc) over the run,
divided by the petitions; the harness's CPU is shown too, to tell whether it was the bottleneck.

Settings are production's: Telegram's limits (`send_rate` 25/s, `chat_interval` 1 s, 20 a minute
per group) for the bot's one send budget: its direct replies (`ReplyLimiter`, 25/s after a burst
of two seconds' worth) and the outbox, which sends in what the replies leave. One exception: the
per-person flood gate is opened (`flood_rate` 1000/s), since a citizen who answers within
milliseconds would be held back by it and a person typing never meets it. `--send-rate 1000`
lifts Telegram's overall limit to show what the bot itself can do. The echo bot is the same
harness against a bare Application with one MessageHandler and one CallbackQueryHandler
answering each update with one message (and concurrent updates, like the petition bot), in the
same order of typed texts and presses; with `--echo-limited` it keeps to the same send limits
through PTB's AIORateLimiter set as the petition bot's replies are, as any bot must at
Telegram's limits (without it, the echo bot sends as fast as it can).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import (
    BotProcess,
    Citizen,
    Want,
    Watch,
    cpu_of,
    draft_button,
    line,
    ms,
    percentiles,
    stand_in,
)

FIRST_CITIZEN = 60_000_001
PLACES = (("锦江", "510104"), ("武侯", "510107"))
RECEIPT = re.compile(r"^v1:m:new$")  # the receipt carries the main menu
ECHO = re.compile(r"^echo$")
FACTS = (
    "The lift in building 5 of Hongxing estate has been broken since March 2026.",
    "The property company has not answered three written complaints.",
)
# Each step: what the citizen does (say a text, or press the button matching), and what reply
# they wait for before the next step.
Step = tuple[str, str | re.Pattern[str], Want]


def petition(place: str, code: str) -> list[Step]:
    b = draft_button
    return [
        ("say", "/new", b("agree")),
        ("press", b("agree"), b("type:appeal")),
        ("press", b("type:appeal"), "new"),
        ("say", place, b(f"pl:{code}")),
        ("press", b(f"pl:{code}"), b("cg:03")),
        ("press", b("cg:03"), b("cg:0306")),
        ("press", b("cg:0306"), "new"),
        ("say", "Please have the broken lift in building 5 repaired.", "new"),
        ("say", FACTS[0], "new"),
        ("say", FACTS[1], b("fdone")),
        ("press", b("fdone"), b("done")),
        ("press", b("done"), "new"),
        ("say", "Alice Li", "new"),
        ("say", "13800138000", "new"),
        ("say", "5 Hongxing Road, Jinjiang District, Chengdu", b("submit")),
        ("press", b("submit"), "any"),
    ]


def step_name(i: int) -> str:
    """A short name for step `i` of the petition: the text said, or the button pressed."""
    _, what, _ = petition("锦江", "510104")[i]
    return what[:8] if isinstance(what, str) else what.pattern.split(":", 2)[-1].rstrip("$")


def dialog(bot: str, i: int) -> list[Step]:
    """Citizen `i`'s steps; for the echo bot the same texts and presses (each reply has a
    button, which the next press presses)."""
    steps = petition(*PLACES[i % 2])
    if bot == "echo":
        return [(kind, ECHO if kind == "press" else what, ECHO) for kind, what, _ in steps]
    return steps


@dataclass
class Run:
    citizens: list[Citizen] = field(default_factory=list)
    receipts: list[float] = field(default_factory=list)
    seconds: float = 0.0  # from the first action to the last direct reply
    calls: int = 0  # Bot API calls the bot made meanwhile (getUpdates left out)
    bot_cpu: float = 0.0
    harness_cpu: float = 0.0

    @property
    def latencies(self) -> list[float]:
        return [t for c in self.citizens for t in c.latencies]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


async def act(citizen: Citizen, steps: list[Step], run: Run | None, think: float = 0) -> float:
    """Walk the steps; the time of the last direct reply (and the receipt's latency in `run`).
    `think`: mean seconds between a reply and the next action (exponentially distributed)."""
    rng = random.Random(citizen.id)
    for _, what, want in steps:
        if think > 0:
            await asyncio.sleep(rng.expovariate(1 / think))
        seen, acted = len(citizen.chat.events), time.perf_counter()
        await citizen.do(what, want)
        if want == "any" and run is not None:  # Submit: the receipt follows via the outbox
            done = time.perf_counter()
            run.receipts.append(await citizen.wait(RECEIPT, seen) - acted)
            return done
    return time.perf_counter()


async def measure(kind: str, n: int, settings: dict[str, float], think: float = 0) -> Run:
    api = await stand_in()
    watch = Watch(api)
    run = Run()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with BotProcess(kind, api.url, Path(tmp) / "bot.db", **settings) as bot:
                steps = [dialog(kind, i) for i in range(n + 1)]
                warm = Citizen(api, watch, FIRST_CITIZEN - 1, "en")
                await act(warm, steps[n], Run())  # imports, caches, the first connections
                run.citizens = [
                    Citizen(api, watch, FIRST_CITIZEN + i, ("en", "zh-hans")[i % 2])
                    for i in range(n)
                ]
                cpu, mine, started = cpu_of(bot.pid), time.process_time(), time.perf_counter()
                first_call = len(api.calls)
                ends = await asyncio.gather(
                    *(act(c, s, run, think) for c, s in zip(run.citizens, steps, strict=False))
                )
                run.seconds = max(ends) - started
                run.calls = sum(c.method != "getUpdates" for c in api.calls[first_call:])
                run.bot_cpu = cpu_of(bot.pid) - cpu
                run.harness_cpu = time.process_time() - mine
                refused = [e for e in api.errors if e.status != 409]
                if refused:
                    print(f"  (the stand-in refused {len(refused)} bot calls: {refused[:3]})")
    finally:
        await api.stop()
    return run


def report(name: str, run: Run, petitions: bool) -> None:
    p50, p95, p99 = percentiles(run.latencies)
    print(f"{name}: {len(run.citizens)} citizens, {len(run.latencies)} replies")
    line("replies/s", f"{run.rate:.1f}")
    line("reply latency p50 / p95", f"{ms(p50)} / {ms(p95)}")
    line("reply latency p99", ms(p99), "target ≤ 250 ms" if petitions else "")
    line("Bot API calls/s (getUpdates left out)", f"{run.calls / run.seconds:.1f}")
    line("wall time of the run", f"{run.seconds:.1f} s")
    line("bot process CPU", f"{run.bot_cpu:.1f} s ({run.bot_cpu / run.seconds:.0%} of a core)")
    harness = f"{run.harness_cpu:.1f} s ({run.harness_cpu / run.seconds:.0%} of a core)"
    line("harness CPU (stand-in + citizens)", harness)
    if petitions:
        line("bot CPU per petition", ms(run.bot_cpu / len(run.citizens)))
        r50, r95, r99 = percentiles(run.receipts)
        receipts = f"{r50:.2f} / {r95:.2f} / {r99:.2f} s"
        line("receipt latency p50 / p95 / p99", receipts, "(through the outbox: not a reply)")
        by_step = zip(*(c.latencies for c in run.citizens), strict=True)
        steps = sorted((percentiles(list(times))[2], i) for i, times in enumerate(by_step))
        slowest = ", ".join(f"{step_name(i)} {ms(t)}" for t, i in steps[-3:])
        line("slowest steps by p99", slowest)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--send-rate", type=float, default=25.0, help="PETITION_SEND_RATE")
    parser.add_argument("--think", type=float, default=0.0, help="mean seconds between actions")
    parser.add_argument("--no-echo", action="store_true", help="leave out the echo bot")
    parser.add_argument(
        "--echo-limited",
        action="store_true",
        help="the echo bot keeps to the same send limits (PTB's AIORateLimiter)",
    )
    args = parser.parse_args()
    pacing = {"send_rate": args.send_rate, "chat_interval": 1.0, "group_rate": 20}
    settings = {**pacing, "group_period": 60.0, "flood_rate": 1000.0, "flood_burst": 1000}
    print(f"settings: {settings}")
    print("(send_rate is Telegram's default unless --send-rate; the flood gate is opened)")
    if args.think:
        print(f"citizens think {args.think:g} s on average before each action")
    else:
        print("citizens answer at once: latency ≈ citizens ÷ replies/s (Little's law)")
    print()
    bot = await measure("petition", args.citizens, settings, args.think)
    report("petition bot", bot, petitions=True)
    if args.no_echo:
        return
    limits = {key: settings[key] for key in ("send_rate", "group_rate", "group_period")}
    echo = await measure("echo", args.citizens, limits if args.echo_limited else {}, args.think)
    name = "PTB echo bot with the same send limits" if args.echo_limited else "bare PTB echo bot"
    report(f"\n{name}", echo, petitions=False)
    print()
    line("throughput ratio (petition ÷ echo)", f"{bot.rate / echo.rate:.2f}", "target ≥ 0.5")


if __name__ == "__main__":
    asyncio.run(main())
