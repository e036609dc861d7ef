from tests.fakes.measurements import measure, pytest_terminal_summary  # noqa: F401 - fixture and hook
