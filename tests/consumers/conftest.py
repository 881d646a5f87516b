"""tests/consumers/ runs the real consumers' code (Ceilometer) over faultwrap's output.

Ceilometer is not a test dependency of the main suite (it pulls in ~90 packages):
each test module here starts with ``pytest.importorskip("ceilometer")``, so the
directory is skipped when it is not installed. ``FAULTWRAP_REQUIRE_CONSUMERS=1``
(``tox -e consumers``, ``.ci/run``) makes a missing Ceilometer an error instead: this
conftest then imports it before any module is collected.
"""

import os

if os.environ.get("FAULTWRAP_REQUIRE_CONSUMERS") == "1":
    import ceilometer  # noqa: F401  (an ImportError here fails the run, as it must)
