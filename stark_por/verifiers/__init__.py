"""The deliberate independent verifiers.

Each one is a single file a reader can audit alone, written apart from the Rust core and
cross-checked against it by the test vectors: :mod:`stark_por.verifiers.pyverify` (pure Python,
standard library only) and the browser page (``browser.js`` in the ``page.html`` template, written
into one offline HTML file by :mod:`stark_por.page`). They are the only code that repeats what
the Rust core computes, and they do so on purpose.
"""
