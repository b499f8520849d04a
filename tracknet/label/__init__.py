"""``tracknet label``: a model-assisted ball labelling tool served to the browser.

Modules: :mod:`~tracknet.label.source` (what SOURCE is and where its labels go),
:mod:`~tracknet.label.store` (confirmed labels, versions; a label and its codes:
:mod:`~tracknet.label.confirmed`; the journal: :mod:`~tracknet.label.journal`),
:mod:`~tracknet.label.frames` (JPEG frames with prefetch), :mod:`~tracknet.label.jpeg_cache` (the
background pass that stores a video's frames on disk), :mod:`~tracknet.label.suggest` (model
suggestions, review queue, interpolation), :mod:`~tracknet.label.doubt` (the review queue's
ranking), :mod:`~tracknet.label.app` (the ASGI app; its request checks and guard:
:mod:`~tracknet.label.web`), :mod:`~tracknet.label.server` (uvicorn), and ``static/`` (the page).
Its frame latency is measured by :mod:`tracknet.bench.label`.
"""
