"""The pages emailed links open: they carry the token to their POST, escaped, and ask only."""
from __future__ import annotations

from gateway.pages import link_page


def test_reset_page_asks_for_the_new_password_twice_and_posts_to_the_api():
    page = link_page("reset_password", "abc-123").get_data(as_text=True)
    assert 'data-action="/auth/password-reset/confirm"' in page
    assert 'data-token="abc-123"' in page
    assert page.count('type="password"') == 2


def test_a_hostile_token_cannot_break_out_of_the_page():
    page = link_page("confirm_identifier", '"><script>alert(1)</script>')
    html = page.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert 'type="password"' not in html
