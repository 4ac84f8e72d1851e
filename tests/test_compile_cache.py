"""What the tests keep compiled per process (tests/compile_cache.py) is exactly what
compiling anew gives: every route's URL builders, every template's code."""

from __future__ import annotations

from flask import url_for

from tests import compile_cache


def _same_code(a, b) -> bool:
    return a.__code__ == b.__code__ and a.__defaults__ == b.__defaults__


def test_every_route_gets_werkzeugs_own_builders(app):
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 50
    for rule in rules:
        for append_unknown in (False, True):
            kept = compile_cache._compile_builder(rule, append_unknown)
            own = compile_cache.ORIGINAL(rule, append_unknown)
            assert _same_code(kept, own), (rule.rule, append_unknown)


URLS = [
    ("core.index", {}),
    ("learn.module", {"slug": "first-steps"}),
    ("learn.module", {"slug": "first-steps", "section": "x y", "view": "all"}),
    ("learn.media", {"course": "test-course", "filename": "images/dot.png"}),
    ("clinic.patient", {"patient_id": 7}),
    ("admin.deactivate", {"user_id": 3}),
    ("static", {"filename": "css/app.css"}),
]


def test_urls_are_the_same_without_the_cache(app, make_app):
    with app.test_request_context():
        kept = [url_for(endpoint, **values) for endpoint, values in URLS]
    compile_cache.uninstall()
    try:
        plain = make_app()
        with plain.test_request_context():
            anew = [url_for(endpoint, **values) for endpoint, values in URLS]
    finally:
        compile_cache.install()
    assert kept == anew


def test_every_template_loads_the_code_compiling_gives(app):
    env = app.jinja_env
    assert env.bytecode_cache is compile_cache.TEMPLATES
    names = [n for n in env.list_templates() if n.endswith((".html", ".txt"))]
    assert len(names) > 20
    for name in names:
        env.get_template(name)  # compiled (or loaded) the way every page does
        source, filename, _uptodate = env.loader.get_source(env, name)
        bucket = compile_cache.TEMPLATES.get_bucket(env, name, filename, source)
        assert bucket.code is not None, name
        assert bucket.code == env.compile(source, name, filename), name
