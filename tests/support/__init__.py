"""Helpers shared by the tests; test modules import from here, never from each other
(tests/unit/test_test_layout.py checks it), and conftest.py files only hold fixtures.

- ``conf``: every config builder (``make_conf``, ``unit_conf``, ``versioned_conf``,
  ``rabbit_conf``, ``conf_from_file``, ``ConfFiles``).
- ``notifications``: what the oslo.messaging ``test`` driver received.
- ``context``: the thread-current oslo.context, set and always cleared.
- ``exceptions``: services' exception styles and hostile exception objects.
- ``compare``: the one sample comparison.
- ``samples`` / ``legacy``: the versioned and legacy samples, their data and emitters.
- ``emitters``: every emitter family once; ``sources``: recording payload sources.
- ``broker`` / ``brokerproxy``: the real RabbitMQ, its queues, and a TCP proxy to cut.
- ``demo``: what the demo app is documented to produce.
- ``secrets`` / ``secret_app`` / ``servers`` / ``wsgi`` / ``spool_worker``: the secret
  corpus, real servers and processes.
"""
