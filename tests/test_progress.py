"""The search progress bar: a generator's note shows while it works and ends with its work."""
from monas.progress import Progress


def test_a_generators_note_is_replaced_once_evaluations_go_on():
    bar = Progress(total=10, enabled=True)
    bar.start(0, {"front": 0, "hv": 0.0})
    bar.note("tnd_nas: calibrating targets on 32 random architectures")
    bar.update(0, {"front": 0, "hv": 0.0})  # nothing evaluated yet: the note stays
    assert bar.bar.desc.startswith("tnd_nas: calibrating")
    bar.update(1, {"front": 1, "hv": 0.5})
    assert bar.bar.desc == "search" and bar.bar.n == 1
    bar.close(None)
