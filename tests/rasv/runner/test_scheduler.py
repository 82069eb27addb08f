"""The pure scheduler: who makes which take, checked on many random plans and interleavings.

A small simulation drives :class:`rasv.runner.scheduler.Scheduler` the way the runner's
worker threads do (ask for a job, load its pair if the engine holds another, finish it),
with the order in which engines act drawn by hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from rasv.runner.scheduler import (
    MAX_BACKOFF_S,
    WAIT,
    Job,
    Scheduler,
    backoff_delay,
    job_order,
    unreachable_verdict,
)


def _jobs(sizes: list[list[int]]) -> list[Job]:
    """``sizes[p][c]`` takes of clip ``c`` for pair ``p``, in plan order."""
    jobs, n = [], 0
    for p, clips in enumerate(sizes):
        for c, count in enumerate(clips):
            for _ in range(count):
                jobs.append(Job(f"t{n}", pair=(p, 100 + p), clip_id=c, ord=n))
                n += 1
    return sorted(jobs, key=job_order)


@dataclass
class Log:
    made: list[tuple[int, str]] = field(default_factory=list)  # (engine, take) in order
    loads: list[tuple[int, tuple]] = field(default_factory=list)  # (engine, pair) in order
    idle_with_orphans: list[int] = field(default_factory=list)  # engines idle beside an unmanned pair
    got_after_death: list[int] = field(default_factory=list)
    # (takes left, engines on it, takes timed so far) when an engine joins a started pair
    joins: list[tuple[int, int, int]] = field(default_factory=list)
    # a take handed out from another clip than the engine's own (which had takes left) or
    # from a clip another engine of the pair is on while a free clip had takes
    clip_hops: list[str] = field(default_factory=list)


def _simulate(jobs: list[Job], n_engines: int, turns: list[int], *, die: tuple[int, int] | None = None,
              synth_s: float | None = None) -> Log:
    """Engines act in the order ``turns`` (then round-robin); ``die=(engine, turn)`` drops
    that engine at that turn, handing its take back as the runner does."""
    sched = Scheduler(jobs, engines=range(n_engines))
    log = Log()
    held: dict[int, Job | None] = dict.fromkeys(range(n_engines))
    done: set[int] = set()
    dead: set[int] = set()
    turn = 0
    while len(done) < n_engines:
        e = turns[turn] % n_engines if turn < len(turns) else turn % n_engines
        if die is not None and turn == die[1] % (len(turns) + 1) and die[0] % n_engines not in dead:
            d = die[0] % n_engines
            dead.add(d)
            if held[d] is not None:
                sched.finished(held[d], requeue=True)
                held[d] = None
            sched.engine_down(d)
        turn += 1
        if turn > 100_000:
            raise AssertionError("the simulation does not end")
        if e in done:
            continue
        if held[e] is not None:
            log.made.append((e, held[e].take_id))
            sched.finished(held[e], synth_s=synth_s)
            held[e] = None
        before = sched.seats[e].assigned
        left = {k: len(q) for k, q in sched.pairs.items()}
        sharing = {k: len(v) for k, v in sched.on_pair.items()}
        own_clip = sched.seats[e].clip
        clips_left = {k: {c for c, q in v.by_clip.items() if q} for k, v in sched.pairs.items()}
        job = sched.next(e)
        if job is not None and job is not WAIT:
            if job.pair != before and sharing[job.pair]:
                log.joins.append((left[job.pair], sharing[job.pair], sched.synth_n))
            others = {sched.seats[i].clip for i in sched.on_pair[job.pair] if i != e}
            free = clips_left[job.pair] - others
            if job.pair == before and own_clip in clips_left[job.pair]:
                if job.clip_id != own_clip:
                    log.clip_hops.append(job.take_id)
            elif free and job.clip_id not in free:
                log.clip_hops.append(job.take_id)
        if job is None or job is WAIT:
            unmanned = [k for k, q in sched.pairs.items() if q and not sched.on_pair[k]]
            if unmanned and e not in dead:
                log.idle_with_orphans.append(e)
            if job is None:
                done.add(e)
            continue
        if e in dead:
            log.got_after_death.append(e)
        if sched.loaded_pair(e) != job.pair:
            sched.loaded(e, job.pair, 1.0)
            log.loads.append((e, job.pair))
        held[e] = job
    return log


plans = st.lists(st.lists(st.integers(1, 4), min_size=1, max_size=3), min_size=1, max_size=5)
engines = st.integers(1, 4)
orders = st.lists(st.integers(0, 3), max_size=120)


@settings(max_examples=150, deadline=None)
@given(plans, engines, orders)
def test_every_take_is_made_exactly_once(sizes, n, turns):
    jobs = _jobs(sizes)
    log = _simulate(jobs, n, turns)
    made = [t for _, t in log.made]
    assert sorted(made) == sorted(j.take_id for j in jobs)


@settings(max_examples=150, deadline=None)
@given(plans, engines, orders)
def test_each_engine_loads_each_pair_at_most_once(sizes, n, turns):
    log = _simulate(_jobs(sizes), n, turns)
    assert len(set(log.loads)) == len(log.loads)
    # ... so an engine's takes are grouped by pair, in one run per pair.
    pair_of = {j.take_id: j.pair for j in _jobs(sizes)}
    for e in range(n):
        seq = [pair_of[t] for x, t in log.made if x == e]
        runs = [p for i, p in enumerate(seq) if i == 0 or seq[i - 1] != p]
        assert len(runs) == len(set(runs))


@settings(max_examples=150, deadline=None)
@given(plans, engines, orders)
def test_no_pair_is_shared_while_an_untouched_pair_waits(sizes, n, turns):
    log = _simulate(_jobs(sizes), n, turns)
    seen: set[tuple] = set()
    for _e, pair in log.loads:
        if pair in seen:  # a second engine joins a pair only once every pair was started
            assert seen == {(p, 100 + p) for p in range(len(sizes))}
        seen.add(pair)
    assert not log.idle_with_orphans


@settings(max_examples=150, deadline=None)
@given(plans, engines, orders, st.sampled_from([None, 1.0]))
def test_an_engine_joins_a_started_pair_only_when_it_pays(sizes, n, turns, synth_s):
    # Before any take is timed: only when the pair has more takes left than engines on it;
    # with takes and loads timed (1 s each here): when sharing beats a load plus one take.
    log = _simulate(_jobs(sizes), n, turns, synth_s=synth_s)
    for left, sharing, timed in log.joins:
        if synth_s is None or not timed:
            assert left > sharing
        else:
            assert left * synth_s / sharing > 1.0 + synth_s


@settings(max_examples=150, deadline=None)
@given(plans, engines, orders)
def test_inside_a_pair_an_engine_keeps_to_one_clip_while_it_can(sizes, n, turns):
    jobs = _jobs(sizes)
    clip_of = {j.take_id: (j.pair, j.clip_id) for j in jobs}
    log = _simulate(jobs, n, turns)
    assert not log.clip_hops  # ... and engines sharing a pair spread over its clips
    for e in range(n):
        seq = [clip_of[t] for x, t in log.made if x == e]
        runs = [c for i, c in enumerate(seq) if i == 0 or seq[i - 1] != c]
        assert len(runs) == len(set(runs))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 4), st.integers(0, 12), st.integers(1, 3))
def test_one_big_pair_uses_every_engine(n, extra, clips):
    # The usual clip comparison: one (GPT, SoVITS) pair; with at least two takes per engine
    # and engines taking turns, every server gets work.
    per_clip = (2 * n + extra + clips - 1) // clips
    log = _simulate(_jobs([[per_clip] * clips]), n, [])
    assert {e for e, _ in log.made} == set(range(n))


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 4), st.integers(1, 4), st.integers(1, 5))
def test_many_equal_pairs_are_spread_over_the_engines(n, rounds, size):
    # P = rounds * n pairs of equal size, engines taking turns at equal speed: each engine
    # works through whole pairs, loads `rounds` of them and makes the same number of takes.
    log = _simulate(_jobs([[size]] * (rounds * n)), n, [], synth_s=1.0)
    for e in range(n):
        assert sum(1 for x, _ in log.loads if x == e) == rounds
        assert sum(1 for x, _ in log.made if x == e) == rounds * size


@settings(max_examples=150, deadline=None)
@given(plans, st.integers(2, 4), orders, st.integers(0, 3), st.integers(0, 60))
def test_a_dead_engine_s_take_goes_to_the_others(sizes, n, turns, victim, when):
    jobs = _jobs(sizes)
    log = _simulate(jobs, n, turns, die=(victim, when))
    made = [t for _, t in log.made]
    assert sorted(made) == sorted(j.take_id for j in jobs)
    assert not log.got_after_death


@settings(max_examples=80, deadline=None)
@given(plans, engines, orders)
def test_the_same_input_gives_the_same_schedule(sizes, n, turns):
    a = _simulate(_jobs(sizes), n, turns)
    b = _simulate(_jobs(sizes), n, turns)
    assert (a.made, a.loads) == (b.made, b.loads)


def test_a_pair_no_engine_can_load_is_handed_back_whole():
    jobs = _jobs([[2], [3]])
    sched = Scheduler(jobs, engines=[0, 1])
    first = sched.next(0)
    assert first.pair == (0, 100)
    sched.finished(first, requeue=True)
    assert sched.cannot_load(0, (0, 100)) == []  # engine 1 may still load it
    other = sched.next(1)
    sched.finished(other, requeue=True)
    doomed = sched.cannot_load(1, (0, 100))
    assert sorted(j.take_id for j in doomed) == ["t0", "t1"]
    rest = [sched.next(0) for _ in range(3)]
    assert {j.pair for j in rest} == {(1, 101)}


def test_cancel_hands_out_nothing_and_leaves_the_rest():
    sched = Scheduler(_jobs([[3]]), engines=[0])
    job = sched.next(0)
    sched.cancel()
    assert sched.next(0) is None
    sched.finished(job)
    assert len(sched.leftover()) == 2


@settings(deadline=None)  # a loaded machine can stall one example past any deadline
@given(st.integers(1, 40), st.floats(0.0, 10.0), st.floats(0.0, 0.999))
def test_backoff_doubles_up_to_a_cap_with_bounded_jitter(attempt, base, jitter):
    d = backoff_delay(attempt, base, jitter)
    nominal = min(base * 2 ** (attempt - 1), MAX_BACKOFF_S)
    assert 0.75 * nominal - 1e-9 <= d <= 1.25 * nominal + 1e-9
    assert backoff_delay(attempt + 1, base, jitter) >= d - 1e-9


def test_an_engine_is_dropped_only_after_two_unreachable_takes_in_a_row():
    assert [unreachable_verdict(s, t) for s, t in [(1, 1), (1, 2), (2, 1), (2, 2)]] == [
        "requeue", "fail", "down", "down"]
